"""Registry HTTP Basic authentication without a server: users, headers, addresses, client credentials."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from eventpipes.errors import ConfigurationError
from eventpipes.schemas.client import RegistryClient, _credentials
from eventpipes.schemas.registry.auth import BasicAuth, is_loopback, load, parse_users, require_credentials

SECRET = "s3cr:et-pässword"


def header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_user_is_allowed_only_with_the_right_password() -> None:
    auth = BasicAuth.of([("alice", SECRET), ("bob", "b")])
    assert auth.allows(header("alice", SECRET))
    assert auth.allows("basic " + header("bob", "b").split()[1])  # the scheme is case-insensitive
    for refused in (None, "", header("alice", SECRET[:-1]), header("alice", ""), header("carol", SECRET), header("bob", SECRET),
                    "Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                    "Basic " + base64.b64encode(b"alice:\xff").decode()):
        assert not auth.allows(refused)
    assert SECRET not in repr(auth) and auth.users == ("alice", "bob")


def test_users_file_format(tmp_path: Path) -> None:
    assert parse_users("# admins\nalice:pw:with:colons\n\n  bob:b  \n", "f") == [("alice", "pw:with:colons"), ("bob", "b")]
    for line in ("alice", ":pw", "alice:"):
        with pytest.raises(ConfigurationError) as caught:
            parse_users(f"ok:1\n{line}\n", "users.txt")
        assert str(caught.value) == ("ConfigurationError: users.txt line 2: expected user:password with a non-empty user and password")
    users = tmp_path / "users"
    users.write_text("alice:" + SECRET + "\n")
    auth = load(users, "svc:x")
    assert auth is not None and auth.users == ("alice", "svc")
    assert load(None, None) is None
    with pytest.raises(ConfigurationError, match="names no user"):
        (tmp_path / "empty").write_text("# none\n")
        load(tmp_path / "empty", None)
    with pytest.raises(ConfigurationError, match="No such file"):
        load(tmp_path / "missing", None)
    with pytest.raises(ConfigurationError) as caught:
        load(None, "no-colon-hunter2")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True), ("LOCALHOST.", True),
    ("0.0.0.0", False), ("::", False), ("", False), ("10.0.0.5", False), ("registry.example.com", False), ("192.168.1.1", False),
])
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_non_loopback_registry_needs_users() -> None:
    require_credentials("127.0.0.1", None)
    require_credentials("0.0.0.0", BasicAuth.of([("a", "b")]))
    with pytest.raises(ConfigurationError) as caught:
        require_credentials("0.0.0.0", None)
    message = str(caught.value)
    assert "\n" not in message and "EVENTPIPES_REGISTRY_USERS_FILE" in message and "0.0.0.0" in message


def test_client_credentials_follow_confluent_rules() -> None:
    url, auth = _credentials("http://alice:p%40ss@127.0.0.1:8081", None, None)
    assert url == "http://127.0.0.1:8081" and auth is not None  # the URL kept for messages has no password
    url, auth = _credentials("http://127.0.0.1:8081", "alice:" + SECRET, None)
    assert url == "http://127.0.0.1:8081" and auth is not None
    assert _credentials("http://127.0.0.1:8081", None, None) == ("http://127.0.0.1:8081", None)
    for args in (("http://a:hunter2@h", "c:swordfish", None), ("http://h", None, "USER_INFO"), ("http://h", "c:swordfish", "URL"),
                 ("http://h", "no-colon-swordfish", None)):
        with pytest.raises(ConfigurationError) as caught:
            _credentials(*args)  # type: ignore[arg-type]
        assert "hunter2" not in str(caught.value) and "swordfish" not in str(caught.value)


def test_client_takes_credentials_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from eventpipes.settings import get_settings

    monkeypatch.setenv("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", "alice:" + SECRET)
    get_settings.cache_clear()
    try:
        with RegistryClient("http://127.0.0.1:1") as client:
            request = client._http.build_request("GET", "/subjects")
            sent = next(client._http.auth.sync_auth_flow(request))  # type: ignore[union-attr]
            assert sent.headers["Authorization"] == header("alice", SECRET)
        with RegistryClient("http://127.0.0.1:1", user_info=None) as client:
            assert client._http.auth is None
    finally:
        get_settings.cache_clear()

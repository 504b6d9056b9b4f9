"""SigV4 on the endpoint, checked with botocore's own signer: signed passes, anything else gets AWS's error."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from eventpipes.api import BackgroundEndpoint
from eventpipes.api.credentials import load_keys
from eventpipes.api.sigv4 import AccessKey, AuthError, SignedRequest, verify
from eventpipes.errors import ConfigurationError
from eventpipes.settings import Settings

KEY = AccessKey("AKIDEVENTPIPESTEST", "secret/with+chars", "111122223333")
PATTERN = json.dumps({"source": ["shop"]})
EVENT = json.dumps({"id": "1", "account": "1", "source": "shop", "time": "2026-01-01T00:00:00Z", "region": "r", "detail-type": "d"})


class Plane:
    def invoke(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        return {"Pipes": [{"Name": request.get("NamePrefix", "")}]} if operation == "ListPipes" else {}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with BackgroundEndpoint(Settings(), plane=Plane(), keys={KEY.access_key_id: KEY}) as served:
        yield served


def client(url: str, service: str, key_id: str = KEY.access_key_id, secret: str = KEY.secret, **config: Any) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="eu-west-1", aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}, **config))


def code_of(call: Any) -> tuple[str, int]:
    with pytest.raises(botocore.exceptions.ClientError) as error:
        call()
    return error.value.response["Error"]["Code"], error.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_signed_request_passes(url: str) -> None:
    assert client(url, "events").test_event_pattern(EventPattern=PATTERN, Event=EVENT)["Result"] is True
    # A query with characters the canonical form must encode, and a path holding an encoded ARN.
    assert client(url, "pipes").list_pipes(NamePrefix="a b/c+d~")["Pipes"] == [{"Name": "a b/c+d~"}]
    tagged = client(url, "pipes").list_tags_for_resource(resourceArn="arn:aws:pipes:eu-west-1:111122223333:pipe/p")
    assert tagged["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_wrong_secret_unknown_key_or_no_signature_gets_aws_errors(url: str) -> None:
    events = lambda **kw: client(url, "events", **kw).test_event_pattern(EventPattern=PATTERN, Event=EVENT)  # noqa: E731
    assert code_of(lambda: events(secret="wrong")) == ("InvalidSignatureException", 400)
    assert code_of(lambda: events(key_id="AKIDNOBODYKNOWS")) == ("UnrecognizedClientException", 400)
    assert code_of(lambda: events(signature_version=UNSIGNED)) == ("MissingAuthenticationTokenException", 400)
    assert code_of(lambda: client(url, "pipes", secret="wrong").list_pipes()) == ("InvalidSignatureException", 403)
    with pytest.raises(client(url, "events").exceptions.ClientError) as error:
        events(secret="wrong")
    assert error.value.response["Error"]["Message"].startswith("The request signature we calculated does not match")


def _signed(body: bytes, service: str = "events", path: str = "/") -> SignedRequest:
    request = botocore.awsrequest.AWSRequest(method="POST", url=f"http://127.0.0.1:4010{path}", data=body,
                                             headers={"X-Amz-Target": "AWSEvents.PutEvents"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(KEY.access_key_id, KEY.secret), service, "us-east-1").add_auth(request)
    headers = {name: [value] for name, value in request.headers.items()}
    headers["Host"] = ["127.0.0.1:4010"]
    return SignedRequest("POST", path, "", headers, body)


def test_verify_checks_body_service_and_time() -> None:
    keys = {KEY.access_key_id: KEY}
    now = datetime.now(timezone.utc)
    signed = _signed(b'{"Entries": []}')
    assert verify(signed, keys, "events", now) == KEY
    tampered = SignedRequest(signed.method, signed.raw_path, signed.raw_query, signed.headers, b'{"Entries": [1]}')
    for request, service, when, code in ((tampered, "events", now, "InvalidSignatureException"),
                                         (signed, "pipes", now, "InvalidSignatureException"),
                                         (signed, "events", now + timedelta(minutes=6), "InvalidSignatureException"),
                                         (signed, "events", now - timedelta(minutes=6), "InvalidSignatureException")):
        with pytest.raises(AuthError) as error:
            verify(request, keys, service, when)
        assert error.value.code == code
    assert "Signature expired" in _message(signed, keys, now + timedelta(minutes=6))


def _message(request: SignedRequest, keys: dict[str, AccessKey], now: datetime) -> str:
    try:
        verify(request, keys, "events", now)
    except AuthError as error:
        return error.message
    return ""


def test_credentials_file_in_the_aws_cli_format(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[default]\naws_access_key_id = AKID1\naws_secret_access_key = s1\n\n"
                    "[team]\naws_access_key_id=AKID2\naws_secret_access_key=s2\naws_account_id=123456789012\n")
    keys = load_keys(Settings(EVENTPIPES_API_CREDENTIALS_FILE=str(path), EVENTPIPES_ACCOUNT="000000000001"))
    assert keys == {"AKID1": AccessKey("AKID1", "s1", "000000000001"), "AKID2": AccessKey("AKID2", "s2", "123456789012")}
    assert "s1" not in repr(keys)
    path.write_text("[default]\naws_access_key_id = AKID1\n")
    with pytest.raises(ConfigurationError) as error:
        load_keys(Settings(EVENTPIPES_API_CREDENTIALS_FILE=str(path)))
    assert "go together" in str(error.value)
    env = load_keys(Settings(EVENTPIPES_API_ACCESS_KEY_ID="AKID3", EVENTPIPES_API_SECRET_ACCESS_KEY="s3",
                             EVENTPIPES_API_ACCOUNT_ID="210987654321"))
    assert env == {"AKID3": AccessKey("AKID3", "s3", "210987654321")}


def test_the_cli_refuses_a_non_loopback_address_without_keys() -> None:
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("EVENTPIPES_API_")}
    done = subprocess.run([sys.executable, "-m", "eventpipes", "api", "--host", "0.0.0.0", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "will not listen on 0.0.0.0" in lines[0] and "EVENTPIPES_API_CREDENTIALS_FILE" in lines[0]


def test_run_refuses_to_serve_the_endpoint_on_a_non_loopback_address_without_keys(tmp_path: Path) -> None:
    topology = tmp_path / "t.yaml"
    topology.write_text("EventBuses:\n  - {Name: orders}\n")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("EVENTPIPES_API_")}
    env["KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:1"  # refused before Kafka is contacted: an unreachable one shows it
    done = subprocess.run([sys.executable, "-m", "eventpipes", "run", str(topology), "--api-port", "4010", "--api-host", "0.0.0.0"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "will not listen on 0.0.0.0" in lines[0]

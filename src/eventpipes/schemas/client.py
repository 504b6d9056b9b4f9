"""A small synchronous client of the Confluent Schema Registry API (httpx).

Uses only Confluent's documented endpoints, so it works with eventpipes' registry and with
Confluent's alike. Schemas fetched by id are cached: an id's schema never changes.

Credentials (HTTP Basic), as Confluent's clients take them: ``SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO``
(``basic.auth.user.info``, ``user:password``) or a URL with user info
(``http://user:password@host:8081``), chosen by ``SCHEMA_REGISTRY_BASIC_AUTH_CREDENTIALS_SOURCE``
(``USER_INFO`` or ``URL``; unset: whichever is given, both is an error as in confluent-kafka).
The URL kept for messages has its user info removed, so no error carries the password.
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from eventpipes.schemas.compat import CompatibilityResult
from eventpipes.schemas.errors import RegistryUnavailable
from eventpipes.errors import ConfigurationError
from eventpipes.schemas.registry.errors import Unauthorized, from_response

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
ACCEPT = "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """A schema as registered under a subject."""

    subject: str
    """The subject."""
    version: int
    """Its version within the subject."""
    schema_id: int
    """The global id written into every record."""
    schema: str
    """Schema text as the registry returns it."""


def _quote(subject: str) -> str:
    return urllib.parse.quote(subject, safe="")


class RegistryClient:
    """One keep-alive connection pool to a registry; safe to share between threads.

    Raises (every method):
        RegistryUnavailable: the registry did not answer (retryable).
        RegistryError: the registry answered with an error (its subclass names the code).
    """

    def __init__(self, url: str | None = None, *, timeout_seconds: float = 10.0, user_info: str | None | Literal["settings"] = "settings",
                 credentials_source: Literal["USER_INFO", "URL"] | None = None) -> None:
        """Args:
            url: the registry (default ``SCHEMA_REGISTRY_URL``); may carry ``user:password@``.
            timeout_seconds: per request.
            user_info: ``user:password`` to send; ``"settings"`` (default) takes
                ``SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO`` and its credentials source from the
                environment, as every eventpipes client (serde, producer, buses, pipes) does.
            credentials_source: with an explicit ``user_info``: ``USER_INFO``, ``URL`` or either.

        Raises:
            ConfigurationError: the credentials source names credentials that are not there,
                or both the URL and user info carry them.
        """
        if url is None or user_info == "settings":
            from eventpipes.settings import get_settings

            settings = get_settings()
            url = settings.schema_registry_url if url is None else url
            if user_info == "settings":
                secret = settings.schema_registry_basic_auth_user_info
                user_info = secret.get_secret_value() if secret is not None else None
                credentials_source = settings.schema_registry_basic_auth_credentials_source
        self.url, auth = _credentials(url.rstrip("/"), user_info, credentials_source)
        self._http = httpx.Client(base_url=self.url, timeout=timeout_seconds, headers={"Accept": ACCEPT}, auth=auth)
        self._by_id: dict[int, str] = {}
        self._lock = threading.Lock()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: object) -> Any:
        query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items() if v is not None}
        headers = {"Content-Type": CONTENT_TYPE} if body is not None else None
        try:
            response = self._http.request(method, path, json=body, params=query, headers=headers)
        except httpx.TransportError as exc:
            raise RegistryUnavailable(self.url, repr(exc)) from exc
        try:
            answer = response.json() if response.content else None
        except ValueError:
            answer = response.text
        if response.is_success:
            return answer
        if response.status_code == 401:
            sent = "the credentials sent were refused" if self._http.auth is not None else "no credentials were sent"
            raise Unauthorized(f"{self.url} answered 401 Unauthorized: {sent} (SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=user:password)")
        raise from_response(response.status_code, answer)

    def register(self, subject: str, schema: str, *, normalize: bool = False) -> int:
        """Register ``schema`` under ``subject`` (the same schema again returns its id).

        Raises:
            IncompatibleSchema: breaks the subject's compatibility level (409).
            InvalidSchemaError: not a valid schema (42201).
        """
        body = self._call("POST", f"/subjects/{_quote(subject)}/versions", {"schema": schema}, normalize=normalize)
        schema_id = int(body["id"])
        with self._lock:
            self._by_id.setdefault(schema_id, schema)
        return schema_id

    def lookup(self, subject: str, schema: str, *, normalize: bool = False) -> RegisteredSchema:
        """The registration of ``schema`` under ``subject``.

        Raises:
            SubjectNotFound, SchemaNotFound
        """
        return _registered(self._call("POST", f"/subjects/{_quote(subject)}", {"schema": schema}, normalize=normalize), subject)

    def schema_by_id(self, schema_id: int) -> str:
        """The schema text of a global id (cached).

        Raises:
            SchemaNotFound: no such id (40403).
        """
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached
        text = str(self._call("GET", f"/schemas/ids/{schema_id}")["schema"])
        with self._lock:
            self._by_id[schema_id] = text
        return text

    def version(self, subject: str, version: int | str = "latest") -> RegisteredSchema:
        """One version of a subject (``latest`` by default)."""
        return _registered(self._call("GET", f"/subjects/{_quote(subject)}/versions/{version}"), subject)

    def subjects(self) -> list[str]:
        return list(self._call("GET", "/subjects"))

    def versions(self, subject: str) -> list[int]:
        return list(self._call("GET", f"/subjects/{_quote(subject)}/versions"))

    def compatibility(self, subject: str | None = None) -> str:
        """The subject's own level (40408 when it has none), or the global one."""
        path = "/config" if subject is None else f"/config/{_quote(subject)}"
        return str(self._call("GET", path)["compatibilityLevel"])

    def set_compatibility(self, level: str, subject: str | None = None) -> str:
        path = "/config" if subject is None else f"/config/{_quote(subject)}"
        return str(self._call("PUT", path, {"compatibility": level})["compatibility"])

    def test_compatibility(self, subject: str, schema: str, version: int | str = "latest") -> CompatibilityResult:
        """Whether ``schema`` may follow ``version`` of ``subject``, with the registry's reasons."""
        path = f"/compatibility/subjects/{_quote(subject)}/versions/{version}"
        body = self._call("POST", path, {"schema": schema}, verbose=True)
        return CompatibilityResult(bool(body["is_compatible"]), tuple(str(m) for m in body.get("messages", [])))

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        return list(self._call("DELETE", f"/subjects/{_quote(subject)}", permanent=permanent))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _credentials(url: str, user_info: str | None, source: Literal["USER_INFO", "URL"] | None) -> tuple[str, httpx.BasicAuth | None]:
    """The URL without user info, and the Basic credentials to send (Confluent's rules)."""
    parts = urllib.parse.urlsplit(url)
    in_url = (urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or ""))
    bare = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    has_url = in_url != ("", "")
    if source == "USER_INFO" and user_info is None:
        raise ConfigurationError("SCHEMA_REGISTRY_BASIC_AUTH_CREDENTIALS_SOURCE=USER_INFO needs SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO")
    if source == "URL" and not has_url:
        raise ConfigurationError("SCHEMA_REGISTRY_BASIC_AUTH_CREDENTIALS_SOURCE=URL needs user:password@ in SCHEMA_REGISTRY_URL")
    if source is None and user_info is not None and has_url:
        raise ConfigurationError("the registry credentials are given twice: in SCHEMA_REGISTRY_URL and in "
                                 "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO; keep one")
    if source == "URL" or (source is None and user_info is None):
        return bare, httpx.BasicAuth(*in_url) if has_url else None
    if user_info is None:  # pragma: no cover - excluded above
        return bare, None
    user, colon, password = user_info.partition(":")
    if not (user and colon):
        raise ConfigurationError("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO must be user:password")
    return bare, httpx.BasicAuth(user, password)


def _registered(body: dict[str, Any], subject: str) -> RegisteredSchema:
    return RegisteredSchema(str(body.get("subject", subject)), int(body["version"]), int(body["id"]), str(body["schema"]))

"""OAUTHBEARER tokens from an OAuth 2 token endpoint (client credentials), for both Kafka libraries.

kafka-python asks its provider for a token synchronously, aiokafka awaits one: both adapters share
one ``ClientCredentials`` that caches the token until shortly before it expires, so a worker's
dozens of connections cost one request to the identity provider, not one each.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka.abc import AbstractTokenProvider as AsyncTokenProvider
from kafka.net.sasl.oauth import AbstractTokenProvider as SyncTokenProvider
from pydantic import SecretStr

from eventpipes.kafka.errors import AuthenticationFailed

#: A token is renewed this long before the endpoint said it expires, so a connection opened
#: just before expiry does not present a token the broker rejects a moment later.
EXPIRY_MARGIN_SECONDS = 60.0


@dataclass(eq=False)
class ClientCredentials:
    """Fetches and caches a bearer token with the client-credentials grant (RFC 6749 §4.4)."""

    token_endpoint: str
    client_id: str
    client_secret: SecretStr = field(repr=False)
    scope: str | None = None
    timeout_seconds: float = 10.0
    _token: str | None = field(default=None, init=False, repr=False)
    _expires_at: float = field(default=0.0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def token(self) -> str:
        """A valid access token, fetched when none is cached or it is about to expire.

        Raises:
            AuthenticationFailed: the endpoint refused the client or did not answer in time;
                the message names the endpoint and its status, never the secret.
        """
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, lifetime = self._fetch()
                self._expires_at = time.monotonic() + max(0.0, lifetime - EXPIRY_MARGIN_SECONDS)
            return self._token

    def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials", **({"scope": self.scope} if self.scope else {})}
        try:
            response = httpx.post(self.token_endpoint, data=form, timeout=self.timeout_seconds,
                                  auth=(self.client_id, self.client_secret.get_secret_value()))
        except httpx.HTTPError as exc:
            raise AuthenticationFailed(self.token_endpoint, f"OAUTHBEARER token endpoint did not answer: {exc.__class__.__name__}") from None
        if response.status_code != 200:
            raise AuthenticationFailed(self.token_endpoint, f"OAUTHBEARER token endpoint refused client {self.client_id!r} "
                                                            f"(HTTP {response.status_code})")
        body: dict[str, Any] = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthenticationFailed(self.token_endpoint, "OAUTHBEARER token endpoint answered without an access_token")
        return token, float(body.get("expires_in") or 3600)


class KafkaPythonTokens(SyncTokenProvider):  # type: ignore[misc]
    """kafka-python's side: ``token()`` blocks on the shared cache."""

    def __init__(self, credentials: ClientCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def token(self) -> str:
        return self._credentials.token()


class AiokafkaTokens(AsyncTokenProvider):  # type: ignore[misc]
    """aiokafka's side: the blocking fetch runs in a thread, so the event loop keeps serving."""

    def __init__(self, credentials: ClientCredentials) -> None:
        self._credentials = credentials

    async def token(self) -> str:
        return await asyncio.to_thread(self._credentials.token)

"""HTTP targets in the manner of EventBridge API destinations.

Authorization comes from the destination's connection: BASIC, API_KEY, or
OAUTH_CLIENT_CREDENTIALS (a token fetched from the authorization endpoint with the
client id and secret as Basic credentials, cached until it expires and fetched
again after a 401). Retries follow EventBridge's rule for API destinations: 401,
407, 409, 429 and 5xx responses and connection errors are retried; any other
4xx is not (so it goes to the dead-letter topic).
"""

from __future__ import annotations

import asyncio
import base64
import time
from urllib.parse import quote

import aiohttp

from eventpipes.bus.targets.base import Delivery, DeliveryFailed
from eventpipes.bus.targets.ratelimit import TokenBucket
from eventpipes.retry import DlqErrorCode
from eventpipes.topology.model import ApiDestination, Connection, ConnectionHttpParameters, HttpParameters

#: EventBridge gives an API destination 5 seconds to answer.
REQUEST_TIMEOUT_SECONDS = 5.0

RETRYABLE_STATUSES = frozenset({401, 407, 409, 429})

USER_AGENT = "eventpipes/ApiDestinations"


def endpoint_url(template: str, path_values: tuple[str, ...]) -> str:
    """Replace each ``*`` of the endpoint with the next path parameter value, URL-quoted."""
    parts = template.split("*")
    if len(parts) - 1 != len(path_values):
        raise DeliveryFailed(
            f"endpoint {template} has {len(parts) - 1} '*' but the target gives {len(path_values)} PathParameterValues",
            code=DlqErrorCode.INVALID_PARAMETER, retryable=False,
        )
    url = parts[0]
    for value, rest in zip(path_values, parts[1:]):
        url += quote(value, safe="") + rest
    return url


class OAuthToken:
    """A client-credentials access token, fetched on demand and cached until it expires."""

    def __init__(self, connection: Connection) -> None:
        assert connection.auth_parameters.oauth is not None
        self._oauth = connection.auth_parameters.oauth
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, session: aiohttp.ClientSession, *, refresh: bool = False) -> str:
        async with self._lock:
            if refresh or self._token is None or time.monotonic() >= self._expires_at:
                self._token, lifetime = await self._fetch(session)
                self._expires_at = time.monotonic() + max(lifetime - 30, 1)
            return self._token

    async def _fetch(self, session: aiohttp.ClientSession) -> tuple[str, float]:
        client = self._oauth.client_parameters
        credentials = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
        extra = self._oauth.oauth_http_parameters
        headers = {"Authorization": f"Basic {credentials}", **{p.key: p.value for p in extra.header_parameters}}
        form = {"grant_type": "client_credentials", **{p.key: p.value for p in extra.body_parameters}}
        params = {p.key: p.value for p in extra.query_string_parameters}
        try:
            async with session.request(
                self._oauth.http_method, self._oauth.authorization_endpoint, headers=headers, params=params,
                data=form if self._oauth.http_method != "GET" else None,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
            ) as response:
                if response.status >= 400:
                    raise DeliveryFailed(f"OAuth endpoint answered {response.status}", code=DlqErrorCode.NO_PERMISSIONS, retryable=response.status >= 500 or response.status == 429)
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise DeliveryFailed(f"OAuth endpoint unreachable or unreadable: {exc!r}", code=DlqErrorCode.CONNECTION_FAILURE) from exc
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise DeliveryFailed("OAuth endpoint answered without an access_token", code=DlqErrorCode.NO_PERMISSIONS, retryable=False)
        return token, float(body.get("expires_in", 3600))


class HttpTarget:
    """Sends each payload to an API destination, rate-limited per destination."""

    def __init__(self, destination: ApiDestination, connection: Connection, parameters: HttpParameters | None, bucket: TokenBucket) -> None:
        self._destination = destination
        self._connection = connection
        self._parameters = parameters or HttpParameters()
        self._bucket = bucket
        self._url = endpoint_url(destination.invocation_endpoint, self._parameters.path_parameter_values)
        self._oauth = OAuthToken(connection) if connection.authorization_type == "OAUTH_CLIENT_CREDENTIALS" else None
        self._session: aiohttp.ClientSession | None = None

    async def deliver(self, delivery: Delivery) -> None:
        await self._bucket.acquire()
        session = self._get_session()
        status, text = await self._request(session, delivery, refresh_token=False)
        if status == 401 and self._oauth is not None:
            status, text = await self._request(session, delivery, refresh_token=True)
        if status < 300:
            return
        retryable = status in RETRYABLE_STATUSES or status >= 500
        code = DlqErrorCode.THROTTLING if status == 429 else DlqErrorCode.ERROR_FROM_TARGET
        raise DeliveryFailed(f"{self._destination.http_method} {self._url} answered {status}: {text[:200]}", code=code, retryable=retryable)

    async def _request(self, session: aiohttp.ClientSession, delivery: Delivery, *, refresh_token: bool) -> tuple[int, str]:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
        headers.update(await self._auth_headers(session, refresh_token))
        headers.update(self._parameters.header_parameters)
        invocation = self._connection.auth_parameters.invocation_http_parameters or ConnectionHttpParameters()
        headers.update({p.key: p.value for p in invocation.header_parameters})
        params = {p.key: p.value for p in invocation.query_string_parameters}
        params.update(self._parameters.query_string_parameters)
        body = None if self._destination.http_method in ("GET", "HEAD") else delivery.payload
        try:
            async with session.request(
                self._destination.http_method, self._url, headers=headers, params=params, data=body,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
            ) as response:
                return response.status, await response.text(errors="replace")
        except asyncio.TimeoutError as exc:
            raise DeliveryFailed(f"{self._destination.http_method} {self._url} timed out after {REQUEST_TIMEOUT_SECONDS:.0f} s", code=DlqErrorCode.TIMEOUT) from exc
        except aiohttp.ClientError as exc:
            raise DeliveryFailed(f"{self._destination.http_method} {self._url} failed: {exc!r}", code=DlqErrorCode.CONNECTION_FAILURE) from exc

    async def _auth_headers(self, session: aiohttp.ClientSession, refresh: bool) -> dict[str, str]:
        auth = self._connection.auth_parameters
        if auth.basic is not None:
            pair = base64.b64encode(f"{auth.basic.username}:{auth.basic.password}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        if auth.api_key is not None:
            return {auth.api_key.api_key_name: auth.api_key.api_key_value}
        assert self._oauth is not None
        return {"Authorization": f"Bearer {await self._oauth.get(session, refresh=refresh)}"}

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


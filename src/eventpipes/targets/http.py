"""HTTP targets: API destinations (rules) and plain endpoints (pipes' targets and enrichments).

One status policy for both, EventBridge's rule for API destinations: 401, 407, 409, 429,
5xx and connection errors are retried; any other 4xx is not (so it goes to the dead-letter
topic). An API destination authorizes each request from its connection: BASIC, API_KEY, or
OAUTH_CLIENT_CREDENTIALS (a token fetched from the authorization endpoint with the client
id and secret as Basic credentials, cached until it expires and fetched again after a 401),
and is rate-limited per destination. A plain endpoint gets the body as a JSON POST.

Redirects are not followed (EventBridge does not follow them either): a 3xx answer is a
failed invocation, not retried, so credentials are never sent to a host the destination
did not name. Failure messages, which reach dead-letter headers and logs, are built only from
what cannot hold a secret: the method, the URL without user info, query string or fragment,
the status code and an exception's class. Never the response body (an endpoint may echo the
request), the headers or an exception's text (aiohttp's carry the request's headers).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

from eventpipes.retry import DlqErrorCode
from eventpipes.targets.base import Item, TargetContext, TargetFailed, TargetSpec
from eventpipes.topology.model import Connection, ConnectionHttpParameters, HttpParameters

#: EventBridge gives an API destination 5 seconds to answer.
API_DESTINATION_TIMEOUT_SECONDS = 5.0
#: A pipe's batch of up to 6 MB gets a little more than an API destination's 5 seconds.
ENDPOINT_TIMEOUT_SECONDS = 10.0

RETRYABLE_STATUSES = frozenset({401, 407, 409, 429})

USER_AGENT = "eventpipes/ApiDestinations"
JSON_CONTENT = "application/json; charset=utf-8"


def safe_url(url: str) -> str:
    """``url`` without user info, query string or fragment: what a message may show of it."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def status_failure(method: str, url: str, status: int) -> TargetFailed | None:
    """None for a 2xx answer, else the failure EventBridge's retry rule makes of it (a 3xx is not retried)."""
    if status < 300:
        return None
    if status < 400:
        return TargetFailed(f"{method} {safe_url(url)} answered {status}, a redirect: not followed", code=DlqErrorCode.ERROR_FROM_TARGET,
                            retryable=False)
    retryable = status in RETRYABLE_STATUSES or status >= 500
    code = DlqErrorCode.THROTTLING if status == 429 else DlqErrorCode.ERROR_FROM_TARGET
    return TargetFailed(f"{method} {safe_url(url)} answered {status}", code=code, retryable=retryable)


def decode_response(text: str) -> Any:
    """A response body as a value: None when empty, decoded JSON, else the text."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def endpoint_url(template: str, path_values: tuple[str, ...]) -> str:
    """Replace each ``*`` of the endpoint with the next path parameter value, URL-quoted."""
    parts = template.split("*")
    if len(parts) - 1 != len(path_values):
        raise TargetFailed(
            f"endpoint {safe_url(template)} has {len(parts) - 1} '*' but the target gives {len(path_values)} PathParameterValues",
            code=DlqErrorCode.INVALID_PARAMETER, retryable=False,
        )
    url = parts[0]
    for value, rest in zip(path_values, parts[1:]):
        url += quote(value, safe="") + rest
    return url


class HttpClient:
    """One session, and the mapping of transport errors to failures."""

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def request(self, method: str, url: str, **kwargs: Any) -> tuple[int, str]:
        """``(status, body text)``.

        Raises:
            TargetFailed: a timeout or a connection error (retryable).
        """
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        # Raised "from None": the cause's text may carry the request's headers, and a cause is
        # printed with any traceback that reaches a log.
        try:
            async with self._session.request(method, url, timeout=self._timeout, allow_redirects=False, **kwargs) as response:
                return response.status, await response.text(errors="replace")
        except asyncio.TimeoutError:
            raise TargetFailed(f"{method} {safe_url(url)} timed out after {self._timeout.total:.0f} s", code=DlqErrorCode.TIMEOUT) from None
        except aiohttp.ClientError as exc:
            raise TargetFailed(f"{method} {safe_url(url)} failed: {type(exc).__name__}", code=DlqErrorCode.CONNECTION_FAILURE) from None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class EndpointTarget:
    """A plain http(s):// endpoint: the body as a JSON POST, the JSON answer as the response."""

    def __init__(self, spec: TargetSpec, context: TargetContext | None = None) -> None:
        self._url = spec.destination
        self._client = HttpClient(ENDPOINT_TIMEOUT_SECONDS)

    async def invoke(self, body: Item) -> Any:
        status, text = await self._client.request("POST", self._url, data=body.payload, headers={"Content-Type": JSON_CONTENT})
        failure = status_failure("POST", self._url, status)
        if failure is not None:
            raise failure
        return decode_response(text)

    async def close(self) -> None:
        await self._client.close()


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
        endpoint = safe_url(self._oauth.authorization_endpoint)
        try:
            async with session.request(
                self._oauth.http_method, self._oauth.authorization_endpoint, headers=headers, params=params,
                data=form if self._oauth.http_method != "GET" else None, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=API_DESTINATION_TIMEOUT_SECONDS),
            ) as response:
                if response.status >= 300:
                    raise TargetFailed(f"OAuth endpoint {endpoint} answered {response.status}", code=DlqErrorCode.NO_PERMISSIONS,
                                       retryable=response.status >= 500 or response.status == 429)
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise TargetFailed(f"OAuth endpoint {endpoint} unreachable or unreadable: {type(exc).__name__}",
                               code=DlqErrorCode.CONNECTION_FAILURE) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise TargetFailed("OAuth endpoint answered without an access_token", code=DlqErrorCode.NO_PERMISSIONS, retryable=False)
        return token, float(body.get("expires_in", 3600))


class ApiDestinationTarget:
    """Sends each body to an API destination, authorized by its connection, rate-limited per destination."""

    def __init__(self, spec: TargetSpec, context: TargetContext) -> None:
        assert context.api_destination is not None, "ApiDestination targets need the topology's destinations"
        self._destination, self._connection, self._bucket = context.api_destination(spec.destination)
        self._parameters = spec.http_parameters or HttpParameters()
        self._invocation = self._connection.auth_parameters.invocation_http_parameters or ConnectionHttpParameters()
        self._method: str = self._destination.http_method
        self._url = endpoint_url(self._destination.invocation_endpoint, self._parameters.path_parameter_values)
        self._oauth = OAuthToken(self._connection) if self._connection.authorization_type == "OAUTH_CLIENT_CREDENTIALS" else None
        self._client = HttpClient(API_DESTINATION_TIMEOUT_SECONDS)

    async def invoke(self, body: Item) -> Any:
        if self._connection.unusable is not None:
            # Retryable: the events wait (and age towards the dead-letter topic) until a worker with the key runs them.
            raise TargetFailed(f"connection {self._connection.name} is unusable: {self._connection.unusable}", retryable=True)
        await self._bucket.acquire()
        status, text = await self._request(body, refresh_token=False)
        if status == 401 and self._oauth is not None:
            status, text = await self._request(body, refresh_token=True)
        failure = status_failure(self._method, self._url, status)
        if failure is not None:
            raise failure
        return decode_response(text)

    async def _request(self, body: Item, *, refresh_token: bool) -> tuple[int, str]:
        headers = {"Content-Type": JSON_CONTENT, "User-Agent": USER_AGENT}
        headers.update(await self._auth_headers(refresh_token))
        headers.update(self._parameters.header_parameters)
        headers.update({p.key: p.value for p in self._invocation.header_parameters})
        params = {p.key: p.value for p in self._invocation.query_string_parameters}
        params.update(self._parameters.query_string_parameters)
        data = None if self._method in ("GET", "HEAD") else body.payload
        return await self._client.request(self._method, self._url, headers=headers, params=params, data=data)

    async def _auth_headers(self, refresh: bool) -> dict[str, str]:
        auth = self._connection.auth_parameters
        if auth.basic is not None:
            pair = base64.b64encode(f"{auth.basic.username}:{auth.basic.password}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        if auth.api_key is not None:
            return {auth.api_key.api_key_name: auth.api_key.api_key_value}
        assert self._oauth is not None
        return {"Authorization": f"Bearer {await self._oauth.get(self._client.session, refresh=refresh)}"}

    async def close(self) -> None:
        await self._client.close()

"""The AWS-compatible endpoint served with aiohttp: authenticate, find the operation, answer.

Each request: SigV4 is checked when access keys are configured (``api.sigv4``); the
protocol and operation are read (``api.protocol``); the operation runs on a worker thread
(the Kafka clients under it are synchronous); its answer or its error goes back in the
protocol's shape. Operations not implemented answer ``UnknownOperationException`` naming them.

Without access keys the endpoint accepts unsigned requests, and then serves loopback only:
:func:`require_credentials` refuses any other address.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from eventpipes.api import sigv4
from eventpipes.api.archives import ArchiveOperations
from eventpipes.api.credentials import load_keys
from eventpipes.api.errors import ApiError, from_error, unknown_operation
from eventpipes.api.events import PutEventsOperation, test_event_pattern
from eventpipes.api.plane import EVENTS_OPERATIONS, PIPES_OPERATIONS, Plane, PlaneOperations
from eventpipes.api.protocol import Call, Protocol, answer_body, error_parts, json_call, protocol_of, rest_call
from eventpipes.api.protocol import JSON_11
from eventpipes.errors import ConfigurationError, EventPipesError
from eventpipes.schemas.registry.auth import is_loopback
from eventpipes.settings import Settings

log = logging.getLogger(__name__)

#: Bodies larger than this are refused before parsing: 10 entries of EventBridge's largest
#: (1 MB) would be over PutEvents' limit anyway; 4 MiB leaves room for JSON escaping.
MAX_BODY_BYTES = 4 * 1024 * 1024

Handler = Callable[[dict[str, Any], str], dict[str, Any]]


class CannotListen(EventPipesError):
    """The endpoint's address cannot be bound (in use, not this machine's, no permission)."""

    code = "CannotListen"

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}")


def require_credentials(host: str, keys: dict[str, sigv4.AccessKey]) -> None:
    """Refuse to serve an address other than loopback without access keys.

    Raises:
        ConfigurationError: one line saying what to set.
    """
    if not keys and not is_loopback(host):
        raise ConfigurationError(
            f"the AWS endpoint will not listen on {host or 'every address'} (not loopback) without access keys: "
            "set EVENTPIPES_API_CREDENTIALS_FILE (the AWS CLI's credentials format) or "
            "EVENTPIPES_API_ACCESS_KEY_ID and EVENTPIPES_API_SECRET_ACCESS_KEY, or listen on 127.0.0.1")


class Endpoint:
    """The operations and the access keys; :meth:`handle` answers one HTTP request."""

    def __init__(self, settings: Settings, *, plane: Plane | None = None, keys: dict[str, sigv4.AccessKey] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.settings = settings
        self.keys = load_keys(settings) if keys is None else keys
        self._clock = clock
        self._put_events = PutEventsOperation(settings)
        self._archives = ArchiveOperations(settings)
        self._plane = PlaneOperations(settings, plane)
        self._events: dict[str, Handler] = {
            "PutEvents": self._put_events,
            "TestEventPattern": lambda body, _account: test_event_pattern(body),
        }
        for name, handler in self._archives.handlers().items():
            self._events[name] = _ignore_account(handler)
        for name in EVENTS_OPERATIONS:
            self._events[name] = self._passed(name)
        self._pipes: dict[str, Handler] = {name: self._passed(name) for name in PIPES_OPERATIONS}

    def _passed(self, operation: str) -> Handler:
        return lambda body, _account: self._plane.invoke(operation, body)

    async def handle(self, request: web.Request) -> web.Response:
        path, query = request.rel_url.raw_path, request.rel_url.raw_query_string
        protocol = protocol_of(path, request.headers.get("X-Amz-Target"))
        try:
            body = await request.read()
            service = "pipes" if protocol == "rest-json" else "events"
            account = self._authenticate(request, path, query, body, service, protocol)
            call = (json_call(request.headers.get("X-Amz-Target"), body) if protocol == "json"
                    else rest_call(request.method, path, query, body))
            answer = await asyncio.to_thread(self._run, call, account)
        except web.HTTPRequestEntityTooLarge:
            return self._error(protocol, ApiError("ValidationException", f"The request body is over {MAX_BODY_BYTES} bytes."))
        except ApiError as error:
            return self._error(protocol, error)
        except EventPipesError as error:
            return self._error(protocol, from_error(error))
        except Exception:
            log.exception("%s %s failed", request.method, path)
            return self._error(protocol, from_error(RuntimeError()))
        content_type = JSON_11 if protocol == "json" else "application/json"
        return web.Response(status=200, body=answer_body(answer), headers={"Content-Type": content_type,
                                                                             "x-amzn-RequestId": str(uuid.uuid4())})

    def _run(self, call: Call, account: str) -> dict[str, Any]:
        handlers = self._events if call.service == "events" else self._pipes
        handler = handlers.get(call.operation)
        if handler is None:
            raise unknown_operation(call.operation)
        return handler(call.request, account)

    def _authenticate(self, request: web.Request, path: str, query: str, body: bytes, service: str,
                      protocol: Protocol) -> str:
        """The caller's account: the signing key's, or the configured one when no key is configured."""
        if not self.keys:
            return self.settings.account
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        signed = sigv4.SignedRequest(request.method, path, query, headers, body)
        try:
            return sigv4.verify(signed, self.keys, service, self._clock()).account
        except sigv4.AuthError as error:
            # JSON 1.1 services answer these with 400; REST services behind AWS's front door with 403.
            raise ApiError(error.code, error.message, status=400 if protocol == "json" else 403) from None

    def _error(self, protocol: Protocol, error: ApiError) -> web.Response:
        status, headers, body = error_parts(protocol, error)
        return web.Response(status=status, body=body, headers={**headers, "x-amzn-RequestId": str(uuid.uuid4())})

    def close(self) -> None:
        self._put_events.close()
        self._archives.close()
        self._plane.close()


def _ignore_account(handler: Callable[[dict[str, Any]], dict[str, Any]]) -> Handler:
    return lambda body, _account: handler(body)


def make_app(endpoint: Endpoint) -> web.Application:
    """The aiohttp application: every method and path goes to :meth:`Endpoint.handle`."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_route("*", "/{tail:.*}", endpoint.handle)

    async def closing(_app: web.Application) -> Any:
        yield
        await asyncio.to_thread(endpoint.close)

    app.cleanup_ctx.append(closing)
    return app


async def start(endpoint: Endpoint, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve on the running event loop (``eventpipes run --api-port`` beside a worker); returns the runner and bound port.

    Raises:
        ConfigurationError: ``host`` is not loopback and no access key is configured.
        CannotListen: the address cannot be bound.
    """
    require_credentials(host, endpoint.keys)
    runner = web.AppRunner(make_app(endpoint), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise CannotListen(host, port, exc.strerror or repr(exc)) from exc
    sockets = getattr(getattr(site, "_server", None), "sockets", None) or []
    return runner, int(sockets[0].getsockname()[1]) if sockets else port


def run(endpoint: Endpoint, host: str, port: int) -> None:
    """Serve until interrupted (SIGINT, SIGTERM), as ``eventpipes api`` does.

    Raises:
        ConfigurationError: ``host`` is not loopback and no access key is configured.
        CannotListen: the address cannot be bound.
    """
    require_credentials(host, endpoint.keys)
    try:
        web.run_app(make_app(endpoint), host=host, port=port, print=None, access_log=None)
    except OSError as exc:
        raise CannotListen(host, port, exc.strerror or repr(exc)) from exc


class BackgroundEndpoint:
    """The endpoint on its own thread and event loop (tests, embedding): ``with BackgroundEndpoint(settings) as url``."""

    def __init__(self, settings: Settings, *, host: str = "127.0.0.1", port: int = 0, plane: Plane | None = None,
                 keys: dict[str, sigv4.AccessKey] | None = None, timeout: float = 30.0) -> None:
        self.endpoint = Endpoint(settings, plane=plane, keys=keys)
        self.host, self.port, self.timeout = host, port, timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="eventpipes-api", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        require_credentials(self.host, self.endpoint.keys)
        self._thread.start()
        serving = start(self.endpoint, self.host, self.port)
        self._runner, self.port = asyncio.run_coroutine_threadsafe(serving, self._loop).result(self.timeout)
        return self.url

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(self.timeout)
            self._runner = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self.timeout)

    def __enter__(self) -> str:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

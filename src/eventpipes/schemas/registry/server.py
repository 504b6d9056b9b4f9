"""The Confluent Schema Registry REST API over a :class:`SchemaStore` (aiohttp).

Paths, bodies, status codes and ``error_code`` values follow Confluent's registry, so its
clients (confluent-kafka's ``SchemaRegistryClient``, serializers, tools) work unchanged.
Reads are answered from local state; changes go through the log (``store.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.schemas import canonical, compat
from eventpipes.schemas.errors import InvalidSchema, RegistryCannotListen
from eventpipes.schemas.registry import checks, errors
from eventpipes.schemas.registry.auth import CHALLENGE, BasicAuth, require_credentials
from eventpipes.schemas.registry.model import (
    DeleteConfig,
    DeleteSubject,
    DeleteVersion,
    Mode,
    Register,
    SetConfig,
    SetMode,
    parse_version,
)
from eventpipes.schemas.registry.store import SchemaStore, new_request_id

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
STORE: web.AppKey[SchemaStore] = web.AppKey("store", SchemaStore)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reply(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, content_type=CONTENT_TYPE)


@web.middleware
async def confluent_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as Confluent's ``{"error_code", "message"}`` body."""
    try:
        return await handler(request)
    except errors.RegistryError as exc:
        return reply(exc.to_body(), exc.http_status)
    except RecursionError:  # a net under checks.check_schema_depth: nesting is the client's doing, not the store's
        error = errors.InvalidSchemaError("Invalid schema: nested too deeply to process")
        return reply(error.to_body(), error.http_status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return reply({"error_code": exc.status, "message": f"HTTP {exc.status} {exc.reason}"}, exc.status)
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.path)
        return reply({"error_code": 50001, "message": f"Error in the backend data store: {exc!r}"}, 500)


def basic_auth(auth: BasicAuth) -> Middleware:
    """A middleware answering 401 (Confluent's body, a Basic challenge) unless the request names a user.

    Nothing about the credentials is logged or echoed: the answer is the same for a missing
    header, an unknown user and a wrong password.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if auth.allows(request.headers.get("Authorization")):
            return await handler(request)
        refused = errors.Unauthorized("Unauthorized")
        response = reply(refused.to_body(), refused.http_status)
        response.headers["WWW-Authenticate"] = CHALLENGE
        return response

    return middleware


def _store(request: web.Request) -> SchemaStore:
    return request.app[STORE]


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").strip().lower() == "true"


def _subject(request: web.Request) -> str:
    return request.match_info["subject"]


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise errors.SchemaNotFound(f"Schema {request.match_info['id']} not found") from None


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError as exc:
        raise errors.BadRequest(f"Malformed JSON body: {exc}") from exc
    except RecursionError:
        raise errors.BadRequest("Malformed JSON body: nested too deeply") from None
    if not isinstance(body, dict):
        raise errors.BadRequest("The request body must be a JSON object")
    return body


async def _schema(request: web.Request) -> canonical.AvroSchema:
    """The Avro schema in a request body (``schema``, ``schemaType``, ``references``)."""
    body = await _body(request)
    schema_type = body.get("schemaType") or "AVRO"
    if schema_type != "AVRO":
        raise errors.InvalidSchemaError(f"Invalid schema type {schema_type}: eventpipes' registry supports AVRO only")
    if body.get("references"):
        raise errors.InvalidSchemaError("Invalid schema: schema references are not supported by eventpipes' registry")
    text = body.get("schema")
    if not isinstance(text, str):
        raise errors.InvalidSchemaError("Invalid schema: the body has no schema string")
    checks.check_schema_depth(text)
    try:
        return canonical.parse(text, normalize=_flag(request, "normalize"))
    except InvalidSchema as exc:
        raise errors.InvalidSchemaError(f"Invalid schema {text}, details: {exc.reason}") from exc


# -- subjects ---------------------------------------------------------------------------


async def list_subjects(request: web.Request) -> web.Response:
    return reply(_store(request).state.subjects(deleted=_flag(request, "deleted"), prefix=request.query.get("subjectPrefix", "")))


async def list_versions(request: web.Request) -> web.Response:
    return reply(_store(request).state.versions(_subject(request), deleted=_flag(request, "deleted")))


async def register(request: web.Request) -> web.Response:
    subject = _subject(request)
    checks.check_subject(subject)
    schema = await _schema(request)
    store = _store(request)
    try:
        # Already registered here: answer without a round trip through the log.
        return reply({"id": store.state.lookup(subject, schema).schema_id})
    except (errors.SubjectNotFound, errors.SchemaNotFound):
        pass
    return reply(await store.submit(Register(new_request_id(), subject, schema.text)))


async def get_version(request: web.Request) -> web.Response:
    version = parse_version(request.match_info["version"])
    found = _store(request).state.version(_subject(request), version, deleted=_flag(request, "deleted"))
    return reply(found.to_body())


async def get_version_schema(request: web.Request) -> web.Response:
    version = parse_version(request.match_info["version"])
    found = _store(request).state.version(_subject(request), version, deleted=_flag(request, "deleted"))
    return web.Response(text=found.schema, content_type=CONTENT_TYPE)


async def referenced_by(request: web.Request) -> web.Response:
    _store(request).state.version(_subject(request), parse_version(request.match_info["version"]))
    return reply([])  # references are not supported, so nothing refers to a version


async def delete_version(request: web.Request) -> web.Response:
    version = parse_version(request.match_info["version"])
    command = DeleteVersion(new_request_id(), _subject(request), version, _flag(request, "permanent"))
    return reply(await _store(request).submit(command))


async def lookup(request: web.Request) -> web.Response:
    schema = await _schema(request)
    found = _store(request).state.lookup(_subject(request), schema, deleted=_flag(request, "deleted"))
    return reply(found.to_body())


async def delete_subject(request: web.Request) -> web.Response:
    command = DeleteSubject(new_request_id(), _subject(request), _flag(request, "permanent"))
    return reply(await _store(request).submit(command))


# -- schemas by id ----------------------------------------------------------------------


async def schema_by_id(request: web.Request) -> web.Response:
    return reply({"schema": _store(request).state.schema(_id(request)).text})


async def raw_schema_by_id(request: web.Request) -> web.Response:
    return web.Response(text=_store(request).state.schema(_id(request)).text, content_type=CONTENT_TYPE)


async def versions_of_id(request: web.Request) -> web.Response:
    uses = _store(request).state.uses(_id(request), deleted=_flag(request, "deleted"))
    return reply([{"subject": s, "version": v} for s, v in uses])


async def subjects_of_id(request: web.Request) -> web.Response:
    uses = _store(request).state.uses(_id(request), deleted=_flag(request, "deleted"))
    return reply(sorted({s for s, _ in uses}))


async def schema_types(request: web.Request) -> web.Response:
    return reply(["AVRO"])


# -- config, compatibility, mode ----------------------------------------------------------


def _level(body: dict[str, Any]) -> compat.CompatibilityLevel:
    try:
        return compat.parse_level(str(body.get("compatibility", "")))
    except ValueError:
        raise errors.InvalidCompatibilityLevel(
            "Invalid compatibility level. Valid values are none, backward, forward, full, "
            "backward_transitive, forward_transitive, and full_transitive"
        ) from None


def _config_subject(request: web.Request) -> str | None:
    return request.match_info.get("subject")


async def get_config(request: web.Request) -> web.Response:
    level = _store(request).state.level(_config_subject(request), default_to_global=_flag(request, "defaultToGlobal"))
    return reply({"compatibilityLevel": level.value})


async def put_config(request: web.Request) -> web.Response:
    subject = _config_subject(request)
    if subject is not None:
        checks.check_subject(subject)
    level = _level(await _body(request))
    return reply(await _store(request).submit(SetConfig(new_request_id(), subject, level.value)))


async def delete_config(request: web.Request) -> web.Response:
    return reply(await _store(request).submit(DeleteConfig(new_request_id(), _config_subject(request))))


async def check_compatibility(request: web.Request) -> web.Response:
    schema = await _schema(request)
    state = _store(request).state
    subject = _subject(request)
    if "version" in request.match_info:
        result = state.check_version(subject, schema, parse_version(request.match_info["version"]))
    else:
        result = state.check(subject, schema)
    body: dict[str, object] = {"is_compatible": result.is_compatible}
    if _flag(request, "verbose"):
        body["messages"] = list(result.messages)
    return reply(body)


async def get_mode(request: web.Request) -> web.Response:
    return reply({"mode": _store(request).state.mode.value})


async def put_mode(request: web.Request) -> web.Response:
    text = str((await _body(request)).get("mode", "")).upper()
    if text not in Mode.__members__:
        raise errors.InvalidMode(f"Invalid mode {text or 'null'}: eventpipes supports READWRITE, READONLY and READONLY_OVERRIDE")
    return reply(await _store(request).submit(SetMode(new_request_id(), text)))


async def root(request: web.Request) -> web.Response:
    return reply({})


def make_app(store: SchemaStore, auth: BasicAuth | None = None) -> web.Application:
    """The registry's aiohttp application; starts and stops ``store`` with itself.

    With ``auth``, every path (``/`` and unknown ones included) needs its credentials first.
    """
    middlewares: list[Middleware] = [confluent_errors]
    if auth is not None:
        middlewares.insert(0, basic_auth(auth))  # outermost: nothing runs before the credentials are checked
    app = web.Application(middlewares=middlewares)
    app[STORE] = store
    version = "/subjects/{subject}/versions/{version}"
    app.add_routes([
        web.get("/", root),
        web.get("/subjects", list_subjects),
        web.get("/subjects/{subject}/versions", list_versions),
        web.post("/subjects/{subject}/versions", register),
        web.get(version, get_version),
        web.get(version + "/schema", get_version_schema),
        web.get(version + "/referencedby", referenced_by),
        web.delete(version, delete_version),
        web.post("/subjects/{subject}", lookup),
        web.delete("/subjects/{subject}", delete_subject),
        web.get("/schemas/types", schema_types),
        web.get("/schemas/ids/{id}", schema_by_id),
        web.get("/schemas/ids/{id}/schema", raw_schema_by_id),
        web.get("/schemas/ids/{id}/versions", versions_of_id),
        web.get("/schemas/ids/{id}/subjects", subjects_of_id),
        web.get("/config", get_config),
        web.put("/config", put_config),
        web.delete("/config", delete_config),
        web.get("/config/{subject}", get_config),
        web.put("/config/{subject}", put_config),
        web.delete("/config/{subject}", delete_config),
        web.post("/compatibility/subjects/{subject}/versions/{version}", check_compatibility),
        web.post("/compatibility/subjects/{subject}/versions", check_compatibility),
        web.get("/mode", get_mode),
        web.put("/mode", put_mode),
    ])

    async def lifecycle(app: web.Application) -> Any:
        await store.start()
        yield
        await store.stop()

    app.cleanup_ctx.append(lifecycle)
    return app


async def serve(store: SchemaStore, host: str, port: int, auth: BasicAuth | None = None) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (to clean up) and the bound port (``port=0``: any free one).

    Raises:
        ConfigurationError: ``host`` is not loopback and ``auth`` is None.
    """
    require_credentials(host, auth)
    runner = web.AppRunner(make_app(store, auth), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = getattr(site, "_server", None)
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)


def run(store: SchemaStore, host: str, port: int, auth: BasicAuth | None = None) -> None:
    """Serve until interrupted (SIGINT, SIGTERM), as the CLI does.

    Raises:
        ConfigurationError: ``host`` is not loopback and ``auth`` is None.
        RegistryCannotListen: the address cannot be bound.
        BrokerUnavailable: Kafka cannot be reached.
    """
    require_credentials(host, auth)
    try:
        web.run_app(make_app(store, auth), host=host, port=port, print=None, access_log=None)
    except OSError as exc:
        raise RegistryCannotListen(host, port, exc.strerror or repr(exc)) from exc


class BackgroundRegistry:
    """A registry serving on its own thread and event loop: for tests, benchmarks, embedding.

    ``with BackgroundRegistry(kafka, topic) as url: ...`` serves on a free port of
    127.0.0.1 and stops (within ``timeout`` seconds) on exit.
    """

    def __init__(self, kafka: KafkaClientConfig, topic: str, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0,
                 auth: BasicAuth | None = None) -> None:
        self.store = SchemaStore(kafka, topic)
        self.host, self.port, self.timeout, self.auth = host, port, timeout, auth
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="schema-registry", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(serve(self.store, self.host, self.port, self.auth), self._loop)
        self._runner, self.port = future.result(self.timeout)
        return self.url

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(self.timeout)
            self._runner = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self.timeout)  # daemon thread: a hung loop cannot keep the process alive

    def __enter__(self) -> str:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

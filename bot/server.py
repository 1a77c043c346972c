"""The HTTP server (aiohttp): JSON ingest (`POST /api/v1/metrics`, `POST /api/v1/merges`) and
`GET /healthz`. Chat front ends add their own routes (`/slack/events`, `/mattermost/…`).

What one listener serves, and to whom, is its `Access`: the ingest API only where `api` and
`ingest` are set, behind `Authorization: Bearer <token>` whenever tokens are configured (401
otherwise, tokens compared in constant time); `/healthz` with its component details only where
`trusted` (or with a token), else just the status. Every request body must arrive within
`body_timeout` (408 otherwise).

Bad input gets a 4xx JSON body `{"error": "…"}` that says what is wrong; nothing is stored."""

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web

from bot import errors, ingest
from bot.clock import Clock
from bot.listener import Throttled
from bot.store import Store

logger = logging.getLogger(__name__)

STORE_KEY = web.AppKey("store", Store)
CLOCK_KEY = web.AppKey("clock", Clock)
HEALTH_KEY = web.AppKey("health", dict)
MAX_BODY_KEY = web.AppKey("max_body_bytes", int)
PROTECTED_KEY = web.AppKey("protected", set)
LOOKBACK_KEY = web.AppKey("lookback", timedelta)  # older input is refused (history: the CLI)

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")

_refused = Throttled("request refused: missing or wrong bearer token", "http_unauthorized")
_slow_body = Throttled("request refused: body not received in time", "http_body_timeout")


@dataclass(frozen=True)
class Access:
    """What one listener serves. `api`: the ingest API (when `ingest`) and `/metrics`;
    `trusted`: `/metrics` and the `/healthz` details need no token there; `tokens`: the bearer
    tokens accepted (none: the ingest API is open, which configuration allows only on a
    loopback or internal listener)."""

    api: bool = True
    ingest: bool = True
    trusted: bool = True
    tokens: tuple[bytes, ...] = ()
    body_timeout: float = 10.0


ACCESS_KEY = web.AppKey("access", Access)


def bearer_matches(header: str | None, tokens: Collection[bytes]) -> bool:
    """Whether `header` is `Bearer <one of tokens>`. Every token is compared, in constant time,
    whatever the outcome."""
    if not header or not tokens:
        return False
    scheme, _, credentials = header.strip().partition(" ")
    given = credentials.strip().encode("utf-8", "surrogateescape")
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(given, token)
    return matched and scheme.lower() == "bearer"


def authorized(request: web.Request) -> bool:
    return bearer_matches(request.headers.get("Authorization"), request.app[ACCESS_KEY].tokens)


def flush_logs() -> None:
    """Log the refusals counted since the last throttled line (at shutdown)."""
    _refused.flush()
    _slow_body.flush()


def protect(app: web.Application, handler: Handler) -> Handler:
    """Mark `handler` as needing a bearer token on this app (the `bearer_auth` middleware)."""
    app[PROTECTED_KEY].add(handler)
    return handler


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_json_body(request: web.Request) -> bytes:
    """The raw body of a JSON request; a 415 response for a non-JSON content type (a body over
    the limit or too slow was answered by `body_deadline`). (The ingest functions parse and
    validate it in one pass.)"""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text=json.dumps({"error": "send Content-Type: application/json"}),
            content_type="application/json",
        )
    return await request.read()  # already read, within the deadline, by `body_deadline`


def rejected(exc: errors.IngestError) -> web.Response:
    """400 for a body that is not JSON, 422 for JSON that is not valid input."""
    return error_response(400 if isinstance(exc, errors.MalformedJson) else 422, exc.message)


async def post_metrics(request: web.Request) -> web.Response:
    return await _ingest(
        request,
        lambda body: ingest.metrics_from_json(
            body, now=request.app[CLOCK_KEY].now(), lookback=request.app[LOOKBACK_KEY]
        ),
        request.app[STORE_KEY].metrics.add,
        message="metrics ingested",
        action="metrics_ingested",
    )


async def post_merges(request: web.Request) -> web.Response:
    return await _ingest(
        request,
        lambda body: ingest.merges_from_json(
            body, now=request.app[CLOCK_KEY].now(), lookback=request.app[LOOKBACK_KEY]
        ),
        request.app[STORE_KEY].metrics.add_merges,
        message="merges ingested",
        action="merges_ingested",
    )


async def _ingest(
    request: web.Request,
    parse: Callable[[bytes], T],
    add: Callable[[T], Awaitable[int]],
    *,
    message: str,
    action: str,
) -> web.Response:
    """Read one JSON batch, `parse` it and `add` it to the store: 201 `{"stored": rows}`, logged
    with `message` and `action`; or a 4xx (`rejected`) with nothing stored."""
    body = await read_json_body(request)
    try:
        stored = await add(parse(body))
    except errors.IngestError as exc:
        return rejected(exc)
    logger.info(message, extra={"action": action, "rows": stored, "via": "api"})
    return web.json_response({"stored": stored}, status=201)


async def healthz(request: web.Request) -> web.Response:
    """200 when every component is healthy, 503 otherwise; with each component's details where
    the listener is trusted or the request carries a token, else only the status."""
    checks: dict[str, HealthCheck] = request.app[HEALTH_KEY]
    report: dict[str, Any] = {}
    healthy = True
    for name, check in checks.items():
        try:
            report[name] = await check()
        except errors.BotError as exc:
            report[name] = {"ok": False, "error": exc.message}
        if not report[name].get("ok", False):
            healthy = False
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded"}
    access = request.app[ACCESS_KEY]
    if access.trusted or (access.api and authorized(request)):
        body["checks"] = report
    return web.json_response(body, status=200 if healthy else 503)


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unexpected failures become a JSON 500 without internals; database outages and queries
    that ran out of time a 503; a body that cannot be read (bad compression or chunking) a 400."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except web.RequestPayloadError as exc:
        logger.warning(
            "request body unreadable",
            extra={"action": "http_bad_body", "path": request.path, "error": str(exc)},
        )
        return error_response(400, "could not read the request body (its Content-Encoding?)")
    except errors.DatabaseUnavailable:
        logger.warning(
            "database unavailable", extra={"action": "http_db_unavailable", "path": request.path}
        )
        return error_response(503, "database unavailable; try again shortly")
    except errors.QueryTimeout as exc:
        logger.warning(
            "database too slow",
            extra={"action": "http_db_slow", "path": request.path, "error": exc.message},
        )
        return error_response(503, "database too slow to answer; try again shortly")
    except Exception:
        logger.exception("request failed", extra={"action": "http_error", "path": request.path})
        return error_response(500, "internal error; see the perfbot log")


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 with `WWW-Authenticate: Bearer` for a protected route without a valid token, before
    anything of the body is read."""
    if request.match_info.handler not in request.app[PROTECTED_KEY] or authorized(request):
        return await handler(request)
    given = "Authorization" in request.headers
    _refused.event(path=request.path, credentials="wrong" if given else "none")
    challenge = 'Bearer realm="perfbot"' + (', error="invalid_token"' if given else "")
    return web.json_response(
        {"error": "send Authorization: Bearer <one of http.ingest_tokens>"},
        status=401,
        headers={"WWW-Authenticate": challenge},
    )


@web.middleware
async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read the whole body within `Access.body_timeout` (408, connection closed, otherwise) and
    at most `max_body_bytes` (413); handlers then read it from memory."""
    if request.body_exists:
        try:
            async with asyncio.timeout(request.app[ACCESS_KEY].body_timeout):
                await request.read()
        except TimeoutError:
            _slow_body.event(path=request.path)
            response = error_response(408, "request body not received in time")
            response.force_close()
            return response
        except web.HTTPRequestEntityTooLarge:
            limit = request.app[MAX_BODY_KEY]
            return error_response(413, f"request body larger than {limit} bytes")
    return await handler(request)


def create_app(
    store: Store,
    clock: Clock,
    *,
    max_body_bytes: int,
    lookback: timedelta,
    access: Access | None = None,
) -> web.Application:
    """The aiohttp application with the ingest API (where `access` serves it) and the health
    check mounted; the API refuses input older than `lookback` (the detection lookback)."""
    access = access or Access()
    app = web.Application(
        client_max_size=max_body_bytes, middlewares=[json_errors, bearer_auth, body_deadline]
    )
    app[STORE_KEY] = store
    app[CLOCK_KEY] = clock
    app[MAX_BODY_KEY] = max_body_bytes
    app[LOOKBACK_KEY] = lookback
    app[ACCESS_KEY] = access
    app[PROTECTED_KEY] = set()
    app[HEALTH_KEY] = {"database": store.health}
    if access.api and access.ingest:
        for path, handler in (("/api/v1/metrics", post_metrics), ("/api/v1/merges", post_merges)):
            app.router.add_post(path, protect(app, handler) if access.tokens else handler)
    app.router.add_get("/healthz", healthz)
    return app

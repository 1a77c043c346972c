"""The HTTP server (aiohttp): JSON ingest (`POST /api/v1/metrics`, `POST /api/v1/merges`) and
`GET /healthz`. Chat front ends add their own routes (`/slack/events`, `/mattermost/…`).

Bad input gets a 4xx JSON body `{"error": "…"}` that says what is wrong; nothing is stored."""

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web

from bot import errors, ingest
from bot.clock import Clock
from bot.store import Store

logger = logging.getLogger(__name__)

STORE_KEY = web.AppKey("store", Store)
CLOCK_KEY = web.AppKey("clock", Clock)
HEALTH_KEY = web.AppKey("health", dict)
MAX_BODY_KEY = web.AppKey("max_body_bytes", int)
LOOKBACK_KEY = web.AppKey("lookback", timedelta)  # older input is refused (history: the CLI)

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]
T = TypeVar("T")


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_json_body(request: web.Request) -> bytes:
    """The raw body of a JSON request; 415/413 responses for a non-JSON content type or a body
    over the limit. (The ingest functions parse and validate it in one pass.)"""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text=json.dumps({"error": "send Content-Type: application/json"}),
            content_type="application/json",
        )
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[MAX_BODY_KEY]
        raise web.HTTPRequestEntityTooLarge(
            max_size=limit,
            actual_size=request.content_length or 0,
            text=json.dumps({"error": f"request body larger than {limit} bytes"}),
            content_type="application/json",
        ) from None


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
    """200 when every component is healthy, 503 with the details otherwise."""
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
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "checks": report},
        status=200 if healthy else 503,
    )


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unexpected failures become a JSON 500 without internals; database outages a 503; a body
    that cannot be read (bad compression or chunking) a 400."""
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
    except Exception:
        logger.exception("request failed", extra={"action": "http_error", "path": request.path})
        return error_response(500, "internal error; see the perfbot log")


def create_app(
    store: Store, clock: Clock, *, max_body_bytes: int, lookback: timedelta
) -> web.Application:
    """The aiohttp application with the ingest API and health check mounted; the API refuses
    input older than `lookback` (the detection lookback)."""
    app = web.Application(client_max_size=max_body_bytes, middlewares=[json_errors])
    app[STORE_KEY] = store
    app[CLOCK_KEY] = clock
    app[MAX_BODY_KEY] = max_body_bytes
    app[LOOKBACK_KEY] = lookback
    app[HEALTH_KEY] = {"database": store.health}
    app.router.add_post("/api/v1/metrics", post_metrics)
    app.router.add_post("/api/v1/merges", post_merges)
    app.router.add_get("/healthz", healthz)
    return app

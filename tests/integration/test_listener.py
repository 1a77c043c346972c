"""`GuardedSite` and the access rules over real sockets: connections past the cap are closed at
once and counted in one log line, a half-sent request head is cut off after the header timeout
while complete requests (and keep-alive reuse) are served, a body that stops arriving gets a
408, and an exposed listener shows /metrics and the /healthz details only with the token."""

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Bot
from bot.clock import SystemClock
from bot.config import Settings
from bot.listener import Guard, GuardedSite
from bot.server import Access, create_app
from bot.store import Store
from tests.polling import eventually

TOKEN = "listener-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HALF = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "


@dataclass
class Served:
    port: int
    guard: Guard


@pytest.fixture(params=[0.5])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    """A hello-world app behind a guard: 3 connections, `request.param` s for the head."""

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    guard = Guard("public", max_connections=3, header_timeout=request.param)
    site = GuardedSite(runner, "127.0.0.1", 0, guard)
    await site.start()
    try:
        yield Served(site.port, guard)
    finally:
        await runner.cleanup()


async def connect(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def closed(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionError:
        return True


@pytest.mark.parametrize("served", [60.0], indirect=True)  # the held ones stay
async def test_connections_past_the_cap_are_closed_at_once_and_logged_once(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    held = [await connect(served.port, HALF) for _ in range(3)]

    async def all_counted() -> bool:
        return served.guard.active == 3

    await eventually(all_counted)
    with caplog.at_level(logging.WARNING, logger="bot.listener"):
        for _ in range(20):
            reader, writer = await connect(served.port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert await closed(reader)
            writer.close()
    refusals = [r for r in caplog.records if r.__dict__.get("action") == "http_connection_refused"]
    assert len(refusals) == 1
    assert served.guard.refused.total == 20
    for _, writer in held:
        writer.close()

    async def all_released() -> bool:
        return served.guard.active == 0

    await eventually(all_released)
    reader, writer = await connect(served.port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    writer.close()


async def test_a_half_sent_head_is_cut_off_and_complete_requests_are_served(
    served: Served,
) -> None:
    slow_reader, slow_writer = await connect(served.port, HALF)
    async with aiohttp.ClientSession() as session:
        for _ in range(3):  # one keep-alive connection, reused
            async with session.get(f"http://127.0.0.1:{served.port}/") as resp:
                assert await resp.text() == "hello"
    # The head arriving in pieces, split inside its final CRLF CRLF, is complete in time.
    reader, writer = await connect(served.port, b"GET / HTTP/1.1\r\nHost: t\r\n\r")
    writer.write(b"\n")
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    writer.close()
    assert await closed(slow_reader)
    assert served.guard.timed_out.total == 1
    slow_writer.close()


@pytest.fixture
async def exposed(store: Store) -> AsyncIterator[TestClient]:
    """The public app of a bot bound to 0.0.0.0 with a token (served here on loopback)."""
    settings = Settings.load(http={"host": "0.0.0.0", "ingest_tokens": [TOKEN]})
    bot = Bot.build(settings, store, SystemClock())
    async with TestClient(TestServer(bot.http_app())) as client:
        yield client


async def test_an_exposed_listener_shows_details_only_with_the_token(exposed: TestClient) -> None:
    resp = await exposed.get("/healthz")
    assert set(await resp.json()) == {"status"}
    resp = await exposed.get("/healthz", headers={"Authorization": "Bearer nope-0123456789abc"})
    assert set(await resp.json()) == {"status"}
    resp = await exposed.get("/healthz", headers=AUTH)
    assert {"database", "scheduler", "channels"} <= set((await resp.json())["checks"])
    resp = await exposed.get("/metrics")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = await exposed.get("/metrics", headers=AUTH)
    assert resp.status == 200
    assert "perfbot_deliveries_total" in await resp.text()


async def test_a_body_that_stops_arriving_gets_a_408(store: Store) -> None:
    app = create_app(
        store,
        SystemClock(),
        max_body_bytes=4096,
        lookback=timedelta(hours=24),
        access=Access(body_timeout=0.3),
    )
    async with TestServer(app) as server:
        reader, writer = await connect(
            server.port or 0,
            b"POST /api/v1/metrics HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n[{",
        )
        assert (await asyncio.wait_for(reader.readline(), 10)).startswith(b"HTTP/1.1 408")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert b"Connection: close" in head
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        body = await asyncio.wait_for(reader.readexactly(length), 10)
        assert b"request body not received in time" in body
        writer.close()

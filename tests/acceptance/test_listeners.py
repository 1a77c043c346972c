"""Who can reach what on a real `perfbot run`, and what slow clients can do to it: ingest without
(or with a wrong) bearer token is refused with 401 and stores nothing; an exposed bind without a
token refuses to start; with an internal listener the public one serves neither the ingest API
nor /metrics nor the /healthz details; 1,100 connections that send half a request head and stop
leave /healthz answering at once, are closed after the header timeout, and write a few log lines
(before: file descriptors ran out and 603,382 lines were logged)."""

import asyncio
import contextlib
import json
import resource
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.store import Store
from tests.acceptance.harness import AUTH, INGEST_TOKEN, PerfbotProcess
from tests.fakes.fixtures import perfbot_env
from tests.fakes.server import free_port
from tests.fakes.slack import SlackFake
from tests.polling import eventually


def metric() -> list[dict[str, object]]:
    """One metric recorded just now (older ones are back-fill, which the API refuses)."""
    at = datetime.now(UTC).isoformat()
    return [{"operation_type": "commit", "duration_ms": 5.5, "recorded_at": at}]


QUIET = {"detection": {"interval": "1h"}, "schedules": {"escalate": "1h"}}
SLOW_CONNECTIONS = 1_100
HEADER_TIMEOUT_S = 3.0


async def metric_rows(store: Store) -> int:
    async with store.connector.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM perfbot.metrics"))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(trust_env=False, timeout=aiohttp.ClientTimeout(total=15)) as s:
        yield s


async def post(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, dict, str]:
    async with session.post(url, json=metric(), headers=headers or {}) as resp:
        text = await resp.text()
        body = json.loads(text) if resp.content_type == "application/json" else {"text": text}
        return resp.status, body, resp.headers.get("WWW-Authenticate", "")


async def test_ingest_without_the_right_bearer_token_is_refused(
    store: Store, db_url: str, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    other = "second-ingest-token-0123456789abcdef"
    env = {"PERFBOT_HTTP__INGEST_TOKENS": json.dumps([INGEST_TOKEN, other])}
    async with PerfbotProcess(db_url, tmp_path, QUIET, env) as bot:
        for path in ("/api/v1/metrics", "/api/v1/merges"):
            for headers in (
                {},
                {"Authorization": "Bearer wrong-token-0123456789abcdef01"},
                {"Authorization": f"Bearer {INGEST_TOKEN}x"},
                {"Authorization": f"Token {INGEST_TOKEN}"},
                {"Authorization": "Bearer"},
                {"Authorization": f"Bearer {INGEST_TOKEN[:-1]}"},
            ):
                status, body, challenge = await post(session, bot.url + path, headers)
                assert (status, challenge[:6]) == (401, "Bearer"), (path, headers, body)
                assert "Authorization: Bearer" in body["error"]
        assert await metric_rows(store) == 0
        for token in (INGEST_TOKEN, other):
            status, body, _ = await post(
                session, f"{bot.url}/api/v1/metrics", {"Authorization": f"Bearer {token}"}
            )
            assert (status, body) == (201, {"stored": 1})
        assert await metric_rows(store) == 2
        assert await bot.stop() == 0
    log = bot.output()
    assert INGEST_TOKEN not in log
    assert other not in log
    assert "ingest=bearer token" in log


@pytest.mark.parametrize(
    ("env", "ok"),
    [
        ({"PERFBOT_HTTP__HOST": "0.0.0.0"}, False),
        ({"PERFBOT_HTTP__HOST": "::"}, False),
        ({"PERFBOT_HTTP__HOST": "perfbot.example.com"}, False),
        ({"PERFBOT_HTTP__HOST": "0.0.0.0", "PERFBOT_HTTP__INGEST": "false"}, True),
        ({"PERFBOT_HTTP__HOST": "0.0.0.0", "PERFBOT_HTTP__INTERNAL__PORT": "3001"}, True),
        ({"PERFBOT_HTTP__HOST": "0.0.0.0", "PERFBOT_HTTP__INGEST_TOKENS": INGEST_TOKEN}, True),
        ({"PERFBOT_HTTP__HOST": "127.0.0.1"}, True),
    ],
)
async def test_an_exposed_bind_with_open_ingest_refuses_to_start(
    tmp_path: Path, env: dict[str, str], ok: bool
) -> None:
    bot = PerfbotProcess("postgresql://nobody@127.0.0.1:9/none", tmp_path, QUIET, env)
    bot.env.pop("PERFBOT_HTTP__INGEST_TOKENS")
    bot.env |= env
    for command in (["config", "check"], ["run"]) if not ok else (["config", "check"],):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *command,
            env=bot.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
        if ok:
            assert process.returncode == 0, output
            continue
        assert process.returncode == 2, output
        assert "is not a loopback address" in output, output
        assert "set http.ingest_tokens (PERFBOT_HTTP__INGEST_TOKENS)" in output
        assert "http.internal" in output
        assert "Traceback" not in output


async def test_an_internal_listener_takes_ingest_metrics_and_health_details(
    store: Store, db_url: str, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    internal = f"http://127.0.0.1:{free_port()}"
    async with SlackFake() as slack_fake:
        env = perfbot_env(slack_fake=slack_fake) | {
            "PERFBOT_SLACK__SIGNING_SECRET": "slack-signing-5ecret-0123",
            "PERFBOT_HTTP__INTERNAL__PORT": internal.rsplit(":", 1)[1],
        }
        await _split(store, db_url, tmp_path, session, internal, env)


async def _split(
    store: Store,
    db_url: str,
    tmp_path: Path,
    session: aiohttp.ClientSession,
    internal: str,
    env: dict[str, str],
) -> None:
    async with PerfbotProcess(db_url, tmp_path, QUIET, env) as bot:
        for headers in ({}, AUTH):
            status, _, _ = await post(session, f"{bot.url}/api/v1/metrics", headers)
            assert status == 404
            async with session.get(f"{bot.url}/metrics", headers=headers) as resp:
                assert resp.status == 404
            async with session.get(f"{bot.url}/healthz", headers=headers) as resp:
                assert set(await resp.json()) == {"status"}
        async with session.get(f"{internal}/healthz") as resp:
            assert {"database", "scheduler", "channels"} <= set((await resp.json())["checks"])
        async with session.get(f"{internal}/metrics") as resp:
            assert resp.status == 200
            assert "perfbot_delivery_queue_depth" in await resp.text()
        assert (await post(session, f"{internal}/api/v1/metrics"))[0] == 401
        assert (await post(session, f"{internal}/api/v1/metrics", AUTH))[:2] == (
            201,
            {"stored": 1},
        )
        async with session.post(f"{bot.url}/slack/events", data=b"x") as resp:
            assert resp.status != 404  # chat is on the public listener …
        async with session.post(f"{internal}/slack/events", data=b"x") as resp:
            assert resp.status == 404  # … and only there
        assert await metric_rows(store) == 1


@contextlib.contextmanager
def open_files(wanted: int) -> Iterator[None]:
    """This test process may open `wanted` files (skips when the hard limit forbids it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs an open-file hard limit of {wanted}, have {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def half_a_request(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: perfbot\r\nX-Slow: ")
    await writer.drain()
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        return await reader.read(1024) == b""
    except ConnectionError:
        return True


@pytest.mark.slow
async def test_slow_connections_cannot_stall_it(
    db_url: str, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    config = {**QUIET, "http": {"header_timeout": HEADER_TIMEOUT_S, "body_timeout": 3.0}}
    with open_files(SLOW_CONNECTIONS + 1_500):
        # A typical default soft limit; perfbot raises it to the hard limit at start.
        async with PerfbotProcess(db_url, tmp_path, config, nofile=1024) as bot:
            slow = []
            for _ in range(0, SLOW_CONNECTIONS, 100):
                slow += await asyncio.gather(*(half_a_request(bot.port) for _ in range(100)))
            async with session.get(
                f"{bot.url}/healthz", timeout=aiohttp.ClientTimeout(total=1.0)
            ) as resp:
                assert resp.status in (200, 503)
                assert (await resp.json())["status"] in ("ok", "degraded")
            # A body that never completes is refused with 408 after body_timeout.
            reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
            writer.write(
                b"POST /api/v1/metrics HTTP/1.1\r\nHost: perfbot\r\nContent-Type: "
                b"application/json\r\nContent-Length: 100\r\nAuthorization: Bearer "
                + INGEST_TOKEN.encode()
                + b"\r\n\r\n[{"
            )
            status_line = await asyncio.wait_for(reader.readline(), 30)
            assert status_line.startswith(b"HTTP/1.1 408"), status_line
            writer.close()
            # Every half-sent head is cut off by the server once the header timeout passes.
            pending = list(slow)

            async def all_closed() -> bool:
                nonlocal pending
                done = await asyncio.gather(
                    *(asyncio.wait_for(closed_by_server(r), 0.05) for r, _ in pending),
                    return_exceptions=True,
                )
                pending = [c for c, d in zip(pending, done, strict=True) if d is not True]
                return not pending

            await eventually(all_closed, within=HEADER_TIMEOUT_S * 10, every=0.5)
            for _, w in slow:
                w.close()
            assert await bot.stop() == 0
    log = bot.output().splitlines()
    assert len(log) < 1_000, "\n".join(log[-20:])
    text = "\n".join(log)
    assert "raised the open-file limit" in text
    assert "request head not received in time" in text
    assert "Traceback" not in text

"""The JSON ingest API and /healthz over real HTTP."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import FrozenClock
from bot.server import create_app
from bot.store import Store

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GOOD = {"operation_type": "commit", "duration_ms": 5.5, "recorded_at": "2026-11-27T11:00:00Z"}


@pytest.fixture
async def client(store: Store) -> AsyncIterator[TestClient]:
    app = create_app(store, FrozenClock(NOW), max_body_bytes=4096, lookback=timedelta(hours=24))
    async with TestClient(TestServer(app)) as c:
        yield c


async def metric_count(store: Store) -> int:
    async with store.connector.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM perfbot.metrics"))


async def test_post_metrics_stores_them(client: TestClient, store: Store) -> None:
    resp = await client.post("/api/v1/metrics", json=[GOOD, {**GOOD, "duration_ms": 7}])
    assert resp.status == 201
    assert await resp.json() == {"stored": 2}
    assert await metric_count(store) == 2


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"data": b"[{", "headers": {"Content-Type": "application/json"}}, 400, "malformed JSON"),
        ({"data": b"x", "headers": {"Content-Type": "text/plain"}}, 415, "application/json"),
        ({"json": {"not": "a list"}}, 422, "expected a JSON array"),
        ({"json": [GOOD, {**GOOD, "duration_ms": "slow"}]}, 422, "item 1: duration_ms"),
        ({"json": [{**GOOD, "recorded_at": "2026-11-27T11:00:00"}]}, 422, "item 0: recorded_at"),
        ({"json": [GOOD] * 100}, 413, "larger than 4096 bytes"),
    ],
)
async def test_bad_input_is_refused_and_stores_nothing(
    client: TestClient, store: Store, kwargs: dict, status: int, message: str
) -> None:
    resp = await client.post("/api/v1/metrics", **kwargs)
    assert resp.status == status
    assert message in (await resp.json())["error"]
    assert await metric_count(store) == 0


async def test_post_merges(client: TestClient) -> None:
    merge = {
        "source_branch": "feature",
        "target_branch": "main",
        "status": "SUCCESS",
        "total_ms": 80,
        "started_at": "2026-11-27T11:00:00Z",
    }
    assert (await client.post("/api/v1/merges", json=[merge])).status == 201
    bad = await client.post("/api/v1/merges", json=[{**merge, "status": "MAYBE"}])
    assert bad.status == 422
    assert "item 0: status" in (await bad.json())["error"]


async def test_healthz_reports_the_database(client: TestClient) -> None:
    resp = await client.get("/healthz")
    body = await resp.json()
    assert resp.status == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True

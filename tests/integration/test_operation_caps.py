"""Operation names and cardinality against real PostgreSQL: the JSON API and the CSV path refuse
invalid names and new names past the caps with the item or line and the cap, store nothing and
log a WARNING, while known operations keep flowing; rows read from a source table with such
names are skipped by the rollup refresh, counted and logged once per refresh; concurrent
batches cannot overshoot a cap; the cleanup forgets operations with no rollups left."""

import asyncio
import io
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import FrozenClock
from bot.config import Settings
from bot.errors import IngestError
from bot.ingest import MetricCsv
from bot.models import Metric, OperationLimits
from bot.server import create_app
from bot.store import Store
from bot.store.operations import INVALID_NAME, OPERATION_CAP
from tests import database

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # first_seen is the database's own clock
LIMITS = OperationLimits(max_operations=6, max_new_operations_per_hour=4)


def metric(name: str, at: datetime = NOW) -> dict[str, object]:
    return {"operation_type": name, "duration_ms": 5.0, "recorded_at": at.isoformat()}


async def scalar(store: Store, sql: str) -> object:
    async with store.connector.pool.acquire() as conn:
        return await conn.fetchval(sql)


async def known(store: Store) -> set[str]:
    async with store.connector.pool.acquire() as conn:
        return {r["name"] for r in await conn.fetch("SELECT name FROM perfbot.operations")}


@pytest.fixture
async def client(store: Store) -> AsyncIterator[TestClient]:
    store.operations.limits = LIMITS
    app = create_app(store, FrozenClock(NOW), max_body_bytes=1 << 20, lookback=timedelta(hours=24))
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_api_refuses_new_names_past_the_hourly_cap_and_keeps_known_ones(
    client: TestClient, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    first = await client.post("/api/v1/metrics", json=[metric(f"op{i}") for i in range(3)])
    assert first.status == 201
    caplog.set_level(logging.WARNING, logger="bot.store.operations")
    batch = [metric("op0"), metric("op3"), metric("op4"), metric("op5"), metric("op4")]
    refused = await client.post("/api/v1/metrics", json=batch)
    assert refused.status == 422
    error = (await refused.json())["error"]
    assert error.startswith("item 2: new operation 'op4', 'op5' refused: ")
    assert "detection.max_new_operations_per_hour is 4 (3 first seen in the last hour)" in error
    assert "known operations are still accepted" in error
    assert await scalar(store, "SELECT count(*) FROM perfbot.metrics") == 3
    assert await known(store) == {"op0", "op1", "op2"}
    warnings = [r for r in caplog.records if getattr(r, "action", "") == "operations_refused"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].__dict__["cap"] == "detection.max_new_operations_per_hour=4"
    # Known operations, and new ones that fit, are still accepted.
    ok = await client.post("/api/v1/metrics", json=[metric("op0"), metric("op3"), metric("op1")])
    assert ok.status == 201
    assert await known(store) == {"op0", "op1", "op2", "op3"}


async def test_api_refuses_new_names_past_the_total_cap(client: TestClient, store: Store) -> None:
    async with store.connector.pool.acquire() as conn:  # known for a while: not new this hour
        await conn.execute(
            "INSERT INTO perfbot.operations (name, first_seen) "
            "SELECT 'old' || i, now() - interval '2 hours' FROM generate_series(1, 6) i"
        )
    refused = await client.post("/api/v1/metrics", json=[metric("old1"), metric("fresh")])
    assert refused.status == 422
    error = (await refused.json())["error"]
    assert "item 1: new operation 'fresh' refused: detection.max_operations is 6" in error
    assert (await client.post("/api/v1/metrics", json=[metric("old6")])).status == 201


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([metric("commit"), metric("<!channel> prod DB is down")], "item 1: operation_type: has"),
        ([metric("commit\nforged=1")], "item 0: operation_type: has character U+000A"),
        ([metric("x" * 129)], "item 0: operation_type: is 129 characters long"),
        (
            [metric("commit"), metric("commit", NOW - timedelta(hours=25))],
            "item 1: recorded_at is older than detection.lookback (1d",
        ),
    ],
)
async def test_api_refuses_invalid_names_and_back_fill(
    client: TestClient, store: Store, body: list[dict[str, object]], says: str
) -> None:
    resp = await client.post("/api/v1/metrics", json=body)
    assert resp.status == 422
    assert says in (await resp.json())["error"]
    assert await scalar(store, "SELECT count(*) FROM perfbot.metrics") == 0
    assert await known(store) == set()


async def test_api_refuses_merges_older_than_the_lookback(client: TestClient) -> None:
    merge = {
        "source_branch": "feature",
        "target_branch": "main",
        "status": "SUCCESS",
        "total_ms": 80,
        "started_at": (NOW - timedelta(days=3)).isoformat(),
    }
    resp = await client.post("/api/v1/merges", json=[merge])
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error.startswith("item 0: started_at is older than detection.lookback (1d")
    assert "perfbot ingest" in error


def csv_of(names: list[str]) -> MetricCsv:
    at = (NOW - timedelta(days=30)).isoformat()  # history: the CSV path takes it
    rows = "".join(f"{n},5,{at}\n" for n in names)
    data = f"operation_type,duration_ms,recorded_at\n{rows}".encode()
    return MetricCsv(io.BytesIO(data), now=NOW)


async def test_csv_refuses_the_line_of_the_first_new_name_past_the_cap(store: Store) -> None:
    store.operations.limits = LIMITS
    assert await store.metrics.copy_csv(csv_of(["a", "b", "a"])) == 3
    with pytest.raises(IngestError) as caught:
        await store.metrics.copy_csv(csv_of(["a", "c", "d", "b", "e"]))
    assert caught.value.line == 6
    assert "new operation 'e' refused: detection.max_new_operations_per_hour is 4" in str(
        caught.value
    )
    assert await scalar(store, "SELECT count(*) FROM perfbot.metrics") == 3
    assert await known(store) == {"a", "b"}


async def test_csv_cap_is_checked_again_under_the_lock(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names another replica admitted while a CSV streamed count: the CSV saw room for four
    (a snapshot from before), but by commit time there is room for none."""
    store.operations.limits = LIMITS
    stale = await store.operations.snapshot()
    assert stale[1].room == 4
    await store.metrics.add([Metric.model_validate(metric(f"r{i}")) for i in range(4)])

    async def snapshot() -> object:
        return stale

    monkeypatch.setattr(store.operations, "snapshot", snapshot)
    with pytest.raises(IngestError) as caught:
        await store.metrics.copy_csv(csv_of(["a", "b"]))
    assert caught.value.line == 2
    assert "new operation 'a', 'b' refused" in caught.value.reason
    assert await known(store) == {"r0", "r1", "r2", "r3"}
    assert await scalar(store, "SELECT count(*) FROM perfbot.metrics") == 4


async def test_concurrent_batches_do_not_overshoot_the_cap(store: Store) -> None:
    store.operations.limits = LIMITS
    batches = [[Metric.model_validate(metric(f"n{b}-{i}")) for i in range(2)] for b in range(6)]
    results = await asyncio.gather(
        *(store.metrics.add(batch) for batch in batches), return_exceptions=True
    )
    stored = [r for r in results if r == 2]
    refused = [r for r in results if isinstance(r, IngestError)]
    assert len(stored) == 2
    assert len(refused) == 4
    assert len(await known(store)) == 4


def test_cli_ingest_names_the_line_and_the_cap(db_url: str, tmp_path) -> None:
    path = tmp_path / "metrics.csv"
    at = (NOW - timedelta(days=30)).isoformat()
    path.write_text(
        "operation_type,duration_ms,recorded_at\n"
        + "".join(f"{n},5,{at}\n" for n in ("a", "b", "a", "c"))
    )
    env = {
        **os.environ,
        "PERFBOT_DATABASE_URL": db_url,
        "PERFBOT_DETECTION__MAX_NEW_OPERATIONS_PER_HOUR": "2",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "line 5" in result.stderr
    assert "new operation 'c' refused" in result.stderr
    assert "detection.max_new_operations_per_hour is 2" in result.stderr
    assert "nothing stored" in result.stderr


SOURCE = """
CREATE SCHEMA pggit;
CREATE TABLE pggit.performance_metrics (
    metric_id bigserial PRIMARY KEY,
    operation_type text NOT NULL,
    duration_ms numeric(10,3) NOT NULL,
    recorded_at timestamptz NOT NULL
);
"""


async def source_rows(store: Store, rows: list[tuple[str, datetime]]) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO pggit.performance_metrics (operation_type, duration_ms, recorded_at)"
            " VALUES ($1, 5, $2)",
            rows,
        )


async def test_source_rows_with_invalid_or_capped_names_are_skipped_and_counted(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    store.operations.limits = LIMITS
    async with store.connector.pool.acquire() as conn:
        await conn.execute(SOURCE)
    await store.source.apply(Settings.load(source={"table": "pggit.performance_metrics"}).source)
    t = NOW - timedelta(minutes=30)
    busy = [(f"src{i}", t) for i in range(6) for _ in range(6 - i)]  # src0 busiest
    bad = [("<!channel> down", t), ("commit\nforged", t), ("x" * 200, t)]
    await source_rows(store, busy + bad)
    caplog.set_level(logging.WARNING, logger="bot.store.operations")
    await store.rollups.refresh(NOW, initial_backfill=timedelta(hours=2))
    await store.rollups.backfill()

    assert await known(store) == {"src0", "src1", "src2", "src3"}  # the busiest four fit
    rolled = await store.rollups.between("hour", NOW - timedelta(days=1), NOW + timedelta(hours=1))
    assert sorted(rolled.operations) == ["src0", "src1", "src2", "src3"]
    assert await store.operations.skipped() == {INVALID_NAME: 3, OPERATION_CAP: 2 + 1}
    warnings = [r for r in caplog.records if getattr(r, "action", "") == "source_rows_skipped"]
    assert len(warnings) == 1
    assert warnings[0].__dict__["rows"] == {INVALID_NAME: 3, OPERATION_CAP: 3}
    assert "'commit\\nforged'" in warnings[0].__dict__["examples"][INVALID_NAME]

    # The next refresh counts only rows it has not counted before, and says nothing when
    # nothing new was skipped.
    caplog.clear()
    await store.rollups.refresh(NOW + timedelta(seconds=30), initial_backfill=timedelta(hours=2))
    assert await store.operations.skipped() == {INVALID_NAME: 3, OPERATION_CAP: 3}
    assert not [r for r in caplog.records if getattr(r, "action", "") == "source_rows_skipped"]
    await source_rows(store, [("bad name", NOW + timedelta(seconds=40))])
    await store.rollups.refresh(NOW + timedelta(minutes=1), initial_backfill=timedelta(hours=2))
    assert await store.operations.skipped() == {INVALID_NAME: 4, OPERATION_CAP: 3}
    assert (
        len([r for r in caplog.records if r.__dict__.get("action") == "source_rows_skipped"]) == 1
    )
    # the skipped row is still in the source (perfbot never deletes from a table it does not
    # own), but in no rollup
    assert [m.operation_type for m in await database.source_metrics(store)].count("bad name") == 1
    hours = await store.rollups.between("hour", NOW - timedelta(days=1), NOW + timedelta(hours=1))
    assert "bad name" not in hours.operations


async def test_cleanup_forgets_operations_without_rollups(store: Store) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO perfbot.operations (name, first_seen) VALUES "
            "('gone', now() - interval '100 days'), ('kept', now() - interval '100 days'), "
            "('new', now())"
        )
        await conn.execute(
            "INSERT INTO perfbot.rollup_hour (operation_type, bucket, n, sum_ms, m2_ms, sum_log,"
            " m2_log, min_ms, max_ms, hist)"
            " VALUES ('kept', now(), 1, 1, 0, 0, 0, 1, 1, '\\x01000001')"
        )
    assert await store.operations.prune(NOW - timedelta(days=90)) == 1
    assert await known(store) == {"kept", "new"}

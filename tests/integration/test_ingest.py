"""Ingest round trips into real PostgreSQL: CSV via COPY, JSON batches, merges; and the
all-or-nothing rule for rejected input (also through the CLI)."""

import asyncio
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import IngestError
from bot.ingest import MetricCsv
from bot.models import MergeRecord, MergeStatus, Metric
from bot.store import Store
from tests import database

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def csv_text(rows: int, bad_at: int | None = None) -> str:
    lines = ["operation_type,duration_ms,recorded_at,branch,user_name"]
    for i in range(rows):
        duration = "oops" if i == bad_at else f"{1 + i % 17}.25"
        lines.append(f"commit,{duration},2026-11-27T{10 + i % 2}:{i % 60:02d}:00Z,main,alice")
    return "\n".join(lines) + "\n"


async def count(store: Store, sql: str) -> int:
    async with store.connector.pool.acquire() as conn:
        return int(await conn.fetchval(sql))


async def test_csv_round_trip(store: Store) -> None:
    csv = MetricCsv(io.BytesIO(csv_text(500).encode()), now=NOW)
    assert await store.metrics.copy_csv(csv) == 500
    recent = await database.source_metrics(store, "commit", 3)
    assert len(recent) == 3
    assert recent[0].recorded_at.tzinfo is not None
    async with store.connector.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT range_from, range_to FROM perfbot.rollup_dirty")
    assert row is not None
    assert row["range_from"] == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert row["range_to"] == datetime(2026, 11, 27, 11, 59, tzinfo=UTC)


async def test_one_bad_row_in_the_middle_stores_nothing(store: Store) -> None:
    csv = MetricCsv(io.BytesIO(csv_text(20_000, bad_at=10_000).encode()), now=NOW)
    with pytest.raises(IngestError) as caught:
        await store.metrics.copy_csv(csv)
    assert caught.value.line == 10_002
    assert await count(store, "SELECT count(*) FROM perfbot.metrics") == 0
    assert await count(store, "SELECT count(*) FROM perfbot.rollup_dirty") == 0


async def test_json_metrics_and_merges_round_trip(store: Store) -> None:
    metrics = [
        Metric(operation_type="merge", duration_ms=50.5, recorded_at=NOW - timedelta(minutes=i))
        for i in range(10)
    ]
    assert await store.metrics.add(metrics) == 10
    merge = MergeRecord(
        source_branch="feature",
        target_branch="main",
        status=MergeStatus.CONFLICT,
        conflicts=2,
        auto_resolved=1,
        total_ms=120.0,
        started_at=NOW - timedelta(minutes=5),
    )
    assert await store.metrics.add_merges([merge]) == 1
    got = await store.source.merges(NOW - timedelta(hours=1), NOW)
    assert got == [merge]


async def test_cli_rejects_a_bad_row_with_its_line_and_stores_nothing(
    db_url: str, tmp_path
) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text(csv_text(1000, bad_at=500))
    env = {**os.environ, "PERFBOT_DATABASE_URL": db_url}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "ingest", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "line 502" in result.stderr
    assert "nothing stored" in result.stderr
    status = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "db", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0
    assert any(line.split()[:1] == ["metrics"] for line in status.stdout.splitlines())
    store = await Store.open(db_url, max_size=1)
    try:
        assert await database.source_metrics(store) == []
    finally:
        await store.close()


def test_cli_ingests_from_stdin(db_url: str) -> None:
    env = {**os.environ, "PERFBOT_DATABASE_URL": db_url}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", "-"],
        input=csv_text(300),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "stored 300 metrics" in result.stdout

"""The cleanup job's retention on a real database: every table loses what is past its period
and keeps the rest; an alert goes only once resolved and unreferenced by anything still
happening, and takes its audit trail, deliveries, anomalies and correlations with it; raw
metrics go only once rolled up, and never from a source table perfbot does not own; the
budget stops the job between batches."""

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bot.alerts import AlertService
from bot.cleanup import Cleanup, Target
from bot.clock import FrozenClock
from bot.config import Settings
from bot.jobs import Jobs
from bot.store import Store

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)

ALERT = """
INSERT INTO perfbot.alerts (fingerprint, kind, severity, status, operation_types, title,
                            summary, first_seen, last_seen, plan, created_at, updated_at,
                            resolved_at, parent_id)
VALUES ($1, 'anomaly', 'WARNING', $2, '{commit}', 't', 's', $3, $3, '{}', $3, $3, $4, $5)
RETURNING id
"""
EVENT = """
INSERT INTO perfbot.alert_events (alert_id, at, actor, source, action)
VALUES ($1, $2, 'system', 'system', 'fired')
"""
DELIVERY = """
INSERT INTO perfbot.deliveries (alert_id, channel, event, severity, status, max_attempts,
                                next_attempt_at, created_at)
VALUES ($1, 'hook', 'fired', 'WARNING', $2, 5, $3, $3)
"""
MESSAGE = """
INSERT INTO perfbot.alert_messages (alert_id, channel, ref, created_at, updated_at)
VALUES ($1, 'hook', '{}', $2, $2)
"""
ANOMALY = """
INSERT INTO perfbot.anomalies (operation_type, kind, severity, detector, window_start,
                               window_end, detected_at, alert_id)
VALUES ('commit', 'statistical', 'WARNING', 'z', $1, $1, $1, $2)
"""
CORRELATION = """
INSERT INTO perfbot.correlations (operation_a, operation_b, r, n, confidence, bottleneck,
                                  severity, recommendations, window_start, window_end,
                                  analyzed_at, alert_id)
VALUES ('a', 'b', 0.9, 30, 0.9, 'cpu', 'WARNING', '{}', $1, $1, $1, $2)
"""


def settings(**overrides: Any) -> Settings:
    return Settings.load(**overrides)


class StillTimer:
    def __call__(self) -> float:
        return 0.0


async def count(store: Store, table: str, where: str = "true", *args: Any) -> int:
    async with store.connector.pool.acquire() as conn:
        n: int = await conn.fetchval(f"SELECT count(*) FROM perfbot.{table} WHERE {where}", *args)  # noqa: S608 (constant test SQL)
    return n


async def add_alert(
    conn: Any,
    name: str,
    status: str,
    at: datetime,
    *,
    parent: int | None = None,
    delivery: str = "sent",
) -> int:
    """An alert last seen (and resolved, if so) at `at`, with an audit event, a delivery in
    state `delivery`, a message reference, an anomaly and a correlation."""
    resolved = at if status == "resolved" else None
    alert_id: int = await conn.fetchval(ALERT, name, status, at, resolved, parent)
    await conn.execute(EVENT, alert_id, at)
    await conn.execute(DELIVERY, alert_id, delivery, at)
    await conn.execute(MESSAGE, alert_id, at)
    await conn.execute(ANOMALY, at, alert_id)
    await conn.execute(CORRELATION, at, alert_id)
    return alert_id


async def test_old_resolved_alerts_go_with_everything_that_refers_to_them(store: Store) -> None:
    old = NOW - 100 * DAY
    async with store.connector.pool.acquire() as conn:
        gone = await add_alert(conn, "gone", "resolved", old)
        kept = [
            await add_alert(conn, "open", "open", old),
            await add_alert(conn, "acked", "acknowledged", old),
            await add_alert(conn, "queued", "resolved", old, delivery="pending"),
            parent := await add_alert(conn, "parent", "resolved", old),
            await add_alert(conn, "child", "open", old, parent=parent),
            await add_alert(conn, "recent", "resolved", NOW - 10 * DAY),
        ]
    cleanup = Cleanup(store, settings(), timer=StillTimer())

    pruned = await cleanup.prune(Target("alerts", NOW - 90 * DAY), deadline=math.inf)

    assert (pruned.rows, pruned.finished) == (1, True)
    async with store.connector.pool.acquire() as conn:
        assert [r["id"] for r in await conn.fetch("SELECT id FROM perfbot.alerts ORDER BY id")] == (
            kept
        )
    for table in ("alert_events", "deliveries", "alert_messages", "anomalies", "correlations"):
        assert await count(store, table, "alert_id = $1", gone) == 0, table
        assert await count(store, table, "alert_id = ANY($1::bigint[])", kept) == len(kept), table
    # nothing was left pointing nowhere (alerting reads anomalies without an alert as new)
    assert await count(store, "anomalies", "alert_id IS NULL") == 0


async def test_the_audit_trail_stays_append_only_outside_retention(store: Store) -> None:
    async with store.connector.pool.acquire() as conn:
        resolved = await add_alert(conn, "r", "resolved", NOW - 100 * DAY)
        open_ = await add_alert(conn, "o", "open", NOW - 100 * DAY)
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM perfbot.alert_events WHERE alert_id = $1", resolved)
        async with conn.transaction():
            await conn.execute("SET LOCAL perfbot.retention = 'on'")
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute("DELETE FROM perfbot.alert_events WHERE alert_id = $1", open_)
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE perfbot.alert_events SET actor = 'x'")
    assert await count(store, "alert_events") == 2


async def roll_up(store: Store, now: datetime) -> None:
    await store.rollups.refresh(now, initial_backfill=12 * DAY)
    await store.rollups.backfill()


async def test_raw_metrics_go_only_once_rolled_up_and_past_retention(store: Store) -> None:
    rows = [("commit", 5.0, NOW - d * DAY) for d in (10, 9, 1)]
    await store.metrics.add_rows(rows)
    cleanup = Cleanup(store, settings(), timer=StillTimer())
    # never rolled up: nothing may go
    assert await cleanup.raw_metrics_horizon(NOW) is None
    assert "metrics" not in [t.table for t in await cleanup.targets(NOW)]

    # rolled up to 9.5 days ago only: the 9-day-old row is not in the rollups yet
    await roll_up(store, NOW - 9.5 * DAY)
    assert await cleanup.raw_metrics_horizon(NOW) == NOW - 9.5 * DAY - timedelta(minutes=1)
    await cleanup.run(NOW)
    assert await count(store, "metrics") == 2

    # rolled up to now: past the 8 days' retention goes, except a back-fill not rolled up yet
    await roll_up(store, NOW)
    await store.metrics.add_rows([("commit", 7.0, NOW - 9.2 * DAY)])
    await cleanup.run(NOW)
    async with store.connector.pool.acquire() as conn:
        left = await conn.fetch("SELECT recorded_at FROM perfbot.metrics ORDER BY 1")
    assert [r["recorded_at"] for r in left] == [NOW - 9.2 * DAY, NOW - 9 * DAY, NOW - DAY]

    await roll_up(store, NOW + timedelta(minutes=1))
    await cleanup.run(NOW)
    assert await count(store, "metrics") == 1
    # the rollups are the durable record: the pruned minutes are still there
    assert await count(store, "rollup_minute", "bucket < $1", NOW - 8 * DAY) == 3


async def test_a_table_that_lost_many_rows_is_vacuumed_at_once(store: Store) -> None:
    rows = [("commit", 5.0, NOW - 9 * DAY + i * timedelta(seconds=1)) for i in range(1_200)]
    rows += [("commit", 6.0, NOW - DAY)]
    await store.metrics.add_rows(rows)
    await roll_up(store, NOW)
    async with store.connector.pool.acquire() as conn:
        await conn.execute("ALTER TABLE perfbot.metrics SET (autovacuum_enabled = off)")
        before = await conn.fetchval("SELECT pg_relation_size('perfbot.metrics')")

    done = await Cleanup(store, settings(), timer=StillTimer()).run(NOW)

    pruned = {p.table: p for p in done}
    assert pruned["metrics"].rows == 1_200
    assert pruned["metrics"].vacuum_s is not None  # the VACUUM ran, outside a transaction
    assert pruned["rollup_minute"].vacuum_s is None  # nothing pruned there: not vacuumed
    # the freed space is reused by the next rows: they land in the pages the pruned rows held,
    # before the survivor's, and the table does not grow (PostgreSQL 16 extends a table by
    # several pages at once, and VACUUM may truncate those: the size alone proves nothing)
    await store.metrics.add_rows(
        [("commit", 7.0, NOW + i * timedelta(seconds=1)) for i in range(1_000)]
    )
    async with store.connector.pool.acquire() as conn:
        after = await conn.fetchval("SELECT pg_relation_size('perfbot.metrics')")
        pages = await conn.fetchrow(
            "SELECT max((ctid::text::point)[0]) FILTER (WHERE duration_ms = 7.0) AS new,"
            " min((ctid::text::point)[0]) FILTER (WHERE duration_ms = 6.0) AS survivor"
            " FROM perfbot.metrics"
        )
    assert pages is not None
    assert pages["new"] < pages["survivor"]
    assert after <= before


PGGIT = """
CREATE SCHEMA pggit;
CREATE TABLE pggit.performance_metrics (
    id bigserial PRIMARY KEY, operation_type text, duration_ms double precision,
    recorded_at timestamptz);
CREATE TABLE pggit.merge_performance_metrics (
    merge_metric_id bigserial PRIMARY KEY, source_branch_id int, target_branch_id int,
    merge_status text, conflict_count int, auto_resolution_success_count int,
    auto_resolution_failure_count int, merge_base_calculation_us bigint,
    conflict_detection_us bigint, auto_resolution_us bigint, total_merge_us bigint,
    started_at timestamptz, completed_at timestamptz, user_name text);
"""


async def test_an_in_place_source_is_never_pruned(store: Store) -> None:
    pggit = settings(source={"preset": "pggit"})
    async with store.connector.pool.acquire() as conn:
        await conn.execute(PGGIT)
        await conn.execute(
            "INSERT INTO pggit.performance_metrics (operation_type, duration_ms, recorded_at)"
            " SELECT 'commit', 5, $1::timestamptz - g * interval '1 day'"
            " FROM generate_series(0, 30) g",
            NOW,
        )
        await conn.execute(
            "INSERT INTO pggit.merge_performance_metrics (source_branch_id, target_branch_id,"
            " merge_status, total_merge_us, started_at) VALUES (1, 2, 'SUCCESS', 900, $1)",
            NOW - 200 * DAY,
        )
    await store.source.apply(pggit.source)
    await roll_up(store, NOW)
    cleanup = Cleanup(store, pggit, timer=StillTimer())

    tables = [t.table for t in await cleanup.targets(NOW)]
    await cleanup.run(NOW)

    assert "metrics" not in tables
    assert "merges" not in tables
    async with store.connector.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM pggit.performance_metrics") == 31
        assert await conn.fetchval("SELECT count(*) FROM pggit.merge_performance_metrics") == 1


SEED_EVERY_TABLE = [
    # (table, SQL inserting one row at $1)
    (
        "job_runs",
        "INSERT INTO perfbot.job_runs (job, slot, status, owner, started_at)"
        " VALUES ('detect', $1, 'success', 'a', $1)",
    ),
    (
        "seen_requests",
        "INSERT INTO perfbot.seen_requests (key, platform, seen_at, expires_at)"
        " VALUES (sha256(($1::timestamptz)::text::bytea), 'slack', $1, $1)",
    ),
    (
        "silences",
        "INSERT INTO perfbot.silences (match, created_by, source, created_at, expires_at)"
        " VALUES ('{}', 'u', 'cli', $1::timestamptz - interval '1 h', $1)",
    ),
    (
        "alert_events",
        "INSERT INTO perfbot.alert_events (alert_id, at, actor, source, action)"
        " VALUES (NULL, $1, 'system', 'system', 'silenced')",
    ),
    ("anomalies", ANOMALY.replace("$2", "NULL")),
    ("correlations", CORRELATION.replace("$2", "NULL")),
    (
        "baseline_history",
        "INSERT INTO perfbot.baseline_history (operation_type, new_p99_ms, sample_count,"
        " replaced, reason, created_at) VALUES ('commit', 9, 10, false, 'scheduled', $1)",
    ),
    (
        "merges",
        "INSERT INTO perfbot.merges (source_branch, target_branch, status, total_ms, started_at)"
        " VALUES ('f', 'main', 'SUCCESS', 9, $1)",
    ),
    (
        "rollup_minute",
        "INSERT INTO perfbot.rollup_minute VALUES ('commit', $1, 1, 5, 0, 1.6, 0, 5, 5,"
        " '\\x01000101')",
    ),
    (
        "rollup_hour",
        "INSERT INTO perfbot.rollup_hour VALUES ('commit', $1, 1, 5, 0, 1.6, 0, 5, 5,"
        " '\\x01000101')",
    ),
]
BASELINE = """
INSERT INTO perfbot.baselines (operation_type, sample_count, mean_ms, stddev_ms, min_ms, max_ms,
    p50_ms, p75_ms, p90_ms, p95_ms, p99_ms, multiplier, window_start, window_end, computed_at,
    active)
VALUES ('commit', 10, 5, 1, 1, 9, 5, 6, 7, 8, 9, 2, $1, $1, $1, $2) RETURNING id
"""


async def test_every_table_keeps_its_period_and_loses_what_is_older(store: Store) -> None:
    keep = settings().retention
    periods = {
        "job_runs": keep.job_runs,
        "seen_requests": timedelta(0),
        "silences": keep.silences,
        "alert_events": keep.alerts,
        "anomalies": keep.anomalies,
        "correlations": keep.correlations,
        "baseline_history": keep.baselines,
        "merges": keep.merges,
        "rollup_minute": keep.rollup_minute,
        "rollup_hour": keep.rollup_hour,
    }
    async with store.connector.pool.acquire() as conn:
        for table, sql in SEED_EVERY_TABLE:
            for at in (NOW - periods[table] - DAY, NOW - periods[table] + DAY):
                await conn.execute(sql, at)
        replaced = await conn.fetchval(BASELINE, NOW - keep.baselines - DAY, False)
        await conn.fetchval(BASELINE, NOW - keep.baselines - DAY, True)  # active: kept
        await conn.execute(
            "UPDATE perfbot.baseline_history SET old_baseline_id = $1", replaced
        )  # the reference is dropped with the baseline (an indexed ON DELETE SET NULL)

    done = await Cleanup(store, settings(), timer=StillTimer()).run(NOW)

    assert all(p.finished for p in done)
    for table, _ in SEED_EVERY_TABLE:
        assert await count(store, table) == 1, table
    assert await count(store, "baselines") == 1
    assert await count(store, "baselines", "active") == 1
    assert await count(store, "baseline_history", "old_baseline_id IS NOT NULL") == 0


class SteppingTimer:
    """Every reading is one second after the last."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


async def test_the_budget_stops_the_cleanup_between_batches(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO perfbot.job_runs (job, slot, status, owner, started_at)"
            " SELECT 'detect', $1::timestamptz - g * interval '1 min', 'success', 'a',"
            " $1::timestamptz - g * interval '1 min' FROM generate_series(1, 1000) g",
            NOW - 40 * DAY,
        )
    tight = settings(retention={"batch_size": 100, "budget": "10s", "batch_seconds": "5s"})
    caplog.set_level(logging.INFO, logger="bot.cleanup")

    done = await Cleanup(store, tight, timer=SteppingTimer()).run(NOW)

    [seen, runs] = done  # it never got past job_runs
    assert (seen.table, seen.finished) == ("seen_requests", True)
    assert runs.table == "job_runs"
    assert not runs.finished
    assert 0 < runs.rows < 1000
    assert runs.max_batch_rows <= 100
    assert await count(store, "job_runs") == 1000 - runs.rows
    [spent] = [r for r in caplog.records if r.__dict__.get("action") == "retention_budget_spent"]
    assert spent.__dict__["table"] == "job_runs"
    assert "deliveries" in spent.__dict__["not_reached"]
    progress = [r for r in caplog.records if r.__dict__.get("action") == "retention_pruned"]
    assert [r.__dict__["table"] for r in progress] == ["seen_requests", "job_runs"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # perfbot's own table: the first whole hour whose raw rows retention has kept
        ({}, datetime(2026, 11, 19, 4, 0, tzinfo=UTC)),
        # an in-place source keeps its rows: back-fills are rebuilt as far as hourly rollups go
        ({"preset": "pggit"}, NOW - 400 * DAY),
    ],
)
async def test_back_fills_are_rebuilt_only_where_raw_rows_are_kept(
    store: Store, source: dict[str, str], expected: datetime
) -> None:
    configured = settings(source=source)
    jobs = Jobs(store, configured, AlertService(store, configured, FrozenClock(NOW)))
    assert jobs.rebuild_horizon(NOW + timedelta(minutes=30)) == expected + (
        timedelta(minutes=30) if source else timedelta(0)
    )


async def test_slow_batches_shrink_the_next_ones(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO perfbot.job_runs (job, slot, status, owner, started_at)"
            " SELECT 'detect', $1::timestamptz - g * interval '1 s', 'success', 'a',"
            " $1::timestamptz - g * interval '1 s' FROM generate_series(1, 3000) g",
            NOW - 40 * DAY,
        )
    timer = SteppingTimer()  # every batch takes 1 s, twice batch_seconds
    slow = settings(retention={"batch_size": 1000, "batch_seconds": "500ms"})
    caplog.set_level(logging.INFO, logger="bot.cleanup")

    pruned = await Cleanup(store, slow, timer=timer).prune(
        Target("job_runs", NOW - 30 * DAY), deadline=math.inf
    )

    # 1000, 500, 250, 125, then the floor of 100 until the table is done
    assert (pruned.rows, pruned.finished, pruned.max_batch_rows) == (3000, True, 1000)
    shrunk = [r for r in caplog.records if r.__dict__.get("action") == "retention_batch_slow"]
    assert [r.__dict__["next_batch"] for r in shrunk[:4]] == [500, 250, 125, 100]
    assert pruned.batches == 4 + math.ceil((3000 - 1875) / 100)

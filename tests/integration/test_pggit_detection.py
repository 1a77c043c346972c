"""Detection end to end over pgGit as it ships, for each shape of its performance table: rows
written the way pgGit writes them (naive local times in a New York session), a row committed
late (a slow operation inside a long transaction: stamped at its transaction's start, visible
minutes after), a latency spike. The cycle finds the spike, and the rollups count every source
row, minute by minute."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.config import Settings
from bot.jobs import Jobs
from bot.models import Metric
from bot.store import Store
from tests.factories import latency_history
from tests.integration.test_pggit_shapes import NEW_YORK, install

NOW = datetime(2026, 11, 27, 17, 0, 20, tzinfo=UTC)  # 12:00:20 in New York
SPIKE = datetime(2026, 11, 27, 16, 59, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

ROWS = {
    # (operation, duration in ms, the writer's CURRENT_TIMESTAMP): pgGit's own columns per shape
    "a": """INSERT INTO pggit.performance_metrics (operation_type, duration_microseconds,
                duration_ms, start_time, end_time, user_name, recorded_at, period_start)
            SELECT $1, round($2 * 1000)::bigint, round($2 * 1000)::bigint::numeric / 1000,
                   $3::timestamptz::timestamp - interval '1 second', $3::timestamptz::timestamp,
                   'alice', $3::timestamptz::timestamp, date_trunc('day', $3::timestamptz)::timestamp""",
    "b": """INSERT INTO pggit.performance_metrics (operation_type, operation_name, started_at,
                completed_at, duration_ms)
            SELECT $1, $1, $3::timestamptz::timestamp, $3::timestamptz::timestamp, $2::numeric(10,3)""",
    "c": """INSERT INTO pggit.performance_metrics (metric_type, metric_value, recorded_at)
            SELECT $1 || '_ms', $2::numeric, $3::timestamptz::timestamp""",
}
SOURCE_COUNTS = {
    # rows per (operation, minute) as the source has them, in UTC minutes
    "a": """SELECT operation_type AS op, date_trunc('minute', recorded_at AT TIME ZONE '{tz}') AS m,
                   count(*) AS n FROM pggit.performance_metrics GROUP BY 1, 2""",
    "b": """SELECT operation_type AS op, date_trunc('minute', started_at AT TIME ZONE '{tz}') AS m,
                   count(*) AS n FROM pggit.performance_metrics GROUP BY 1, 2""",
    "c": """SELECT left(metric_type, -3) AS op, date_trunc('minute', recorded_at AT TIME ZONE '{tz}') AS m,
                   count(*) AS n FROM pggit.performance_metrics GROUP BY 1, 2""",
}


async def write(store: Store, shape: str, metrics: list[Metric]) -> None:
    async with store.connector.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"SET LOCAL timezone = '{NEW_YORK}'")
        await conn.executemany(
            ROWS[shape], [(m.operation_type, m.duration_ms, m.recorded_at) for m in metrics]
        )


@pytest.mark.parametrize("shape", ["a", "b", "c"])
async def test_detection_over_pggit_finds_the_spike_and_counts_every_row(
    store: Store, shape: str
) -> None:
    await install(store, shape)
    start = NOW.replace(second=0) - timedelta(hours=3)
    before = NOW - 2 * MINUTE  # the first cycle runs here
    history = [
        *latency_history("commit", start, before, median_ms=5.0, per_minute=20, seed=11),
        *latency_history("get_history", start, before, median_ms=12.0, per_minute=20, seed=12),
    ]
    await write(store, shape, history)
    settings = Settings.load(source={"preset": "pggit"})
    await store.source.apply(settings.source)
    jobs = Jobs(store, settings, AlertService(store, settings, FrozenClock(NOW)))
    assert await jobs.detect_once(before, alert=False) == []
    await store.rollups.backfill()  # the history the first cycle queued

    # Rows arriving after that cycle: the last minutes, a spike of commit in the last one, and
    # one slow get_history whose transaction began 4 minutes ago and committed only now.
    recent = [
        *latency_history(
            "commit",
            before.replace(second=0),
            NOW.replace(second=0),
            median_ms=5.0,
            per_minute=20,
            seed=13,
            factor=lambda t: 8.0 if t >= SPIKE else 1.0,
        ),
        *latency_history(
            "get_history", before.replace(second=0), NOW.replace(second=0), median_ms=12.0, seed=14
        ),
    ]
    late = Metric(operation_type="get_history", duration_ms=750.0, recorded_at=NOW - 4 * MINUTE)
    await write(store, shape, [*recent, late])

    found = await jobs.detect_once(NOW, alert=False)
    assert {a.operation_type for a in found} == {"commit"}, found
    assert max(a.window_end for a in found) == SPIKE + MINUTE

    async with store.connector.pool.acquire() as conn:
        source = Counter(
            {
                (r["op"], r["m"].replace(tzinfo=UTC)): r["n"]
                for r in await conn.fetch(SOURCE_COUNTS[shape].format(tz=NEW_YORK))
            }
        )
        rolled = Counter(
            {
                (r["operation_type"], r["bucket"]): r["n"]
                for r in await conn.fetch(
                    "SELECT operation_type, bucket, n FROM perfbot.rollup_minute WHERE bucket < $1",
                    NOW.replace(second=0),
                )
            }
        )
    assert rolled == source
    assert rolled[("get_history", (NOW - 4 * MINUTE).replace(second=0))] == 21  # the late one

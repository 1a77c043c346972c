"""Does a detection cycle over pgGit's own table cost the same whatever its history?

For each size (1 M and 10 M rows by default) a fresh database gets pgGit's v0.1 "Phase 7"
tables from pgGit's own DDL (tests/data/pggit/shape_a.sql, indexes included), filled over the
same 8 days for the 33 operations — naive local times written in a New York session, as pgGit
writes them — so that only the size of the source table differs. perfbot then reads it in place
(`preset: pggit`): the initial roll-up of the last week is timed once, then `--cycles` detection
cycles each after one new minute of 20 rows per operation arrived, the same for every size (the
production `Jobs.detect_once`: rollup refresh with its late-row grace, scoring, storing).

Figures: per size the cycle median and max (ms) and the initial roll-up (s); the ratio of the
cycle medians (target: 10 M / 1 M <= 1.2), and the plan of the incremental scan (index or not).

    ./dev bench source [--sizes 1000000,10000000] [--cycles 10]
"""

import argparse
import asyncio
import logging
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import drop_database, emit, fresh_database, server

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.config import Settings
from bot.demo.operations import OPERATIONS
from bot.jobs import Jobs
from bot.store import Store
from bot.store.queries import QUERIES

DDL = Path(__file__).resolve().parent.parent / "tests" / "data" / "pggit" / "shape_a.sql"
PER_MINUTE = 20  # new rows per operation per minute, in the measured cycles
HISTORY = timedelta(days=8)
NOW = datetime(2026, 11, 20, 17, 0, 20, tzinfo=UTC)
CHUNK = 1_000_000

# Rows g in [lo, hi): operation g % n, stamped $5 apart counting back from $3, log-normal
# durations around each operation's typical ms ($6).
FILL = """
INSERT INTO pggit.performance_metrics (operation_type, duration_microseconds, duration_ms,
    start_time, end_time, user_name, recorded_at, period_start)
SELECT op, us, us::numeric / 1000, ts - interval '1 microsecond', ts, 'bench', ts,
       date_trunc('day', ts)
  FROM (SELECT ops[1 + g % cardinality(ops)] AS op,
               greatest(1, round(medians[1 + g % cardinality(ops)] * 1000
                   * exp(0.4 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))))::bigint AS us,
               ($3::timestamptz - g * $5::interval)::timestamp AS ts
          FROM generate_series($1::bigint, $2::bigint - 1) g,
               (SELECT $4::text[] AS ops, $6::float8[] AS medians) p) rows
"""


def statements(ddl: str) -> tuple[list[str], list[str]]:
    """pgGit's DDL split into its tables and its indexes (built after the fill, as a restore
    would; the indexes are pgGit's own either way)."""
    parts = [p.strip() for p in ddl.split(";\n") if p.strip() and "CREATE" in p]
    tables = [p for p in parts if "CREATE INDEX" not in p]
    indexes = [p for p in parts if "CREATE INDEX" in p]
    return tables, indexes


async def fill(store: Store, rows: int) -> None:
    tables, indexes = statements(DDL.read_text())
    names = [op.name for op in OPERATIONS]
    medians = [op.typical_ms for op in OPERATIONS]
    async with store.connector.pool.acquire() as conn:
        for ddl in tables:
            await conn.execute(ddl)
        await conn.execute("SET timezone = 'America/New_York'")
        newest = NOW.replace(second=0) - timedelta(minutes=1, microseconds=1)
        spacing = HISTORY / rows
        for lo in range(0, rows, CHUNK):
            await conn.execute(
                FILL, lo, min(rows, lo + CHUNK), newest, names, spacing, medians, timeout=600
            )
            print(f"  filled {min(rows, lo + CHUNK):,} of {rows:,}", file=sys.stderr)
        await conn.execute("RESET timezone")
        for ddl in indexes:
            await conn.execute(ddl, timeout=600)
        await conn.execute("ANALYZE pggit.performance_metrics", timeout=600)


async def new_minute(store: Store, minute: datetime) -> None:
    """One minute of rows at the same density, stamped as pgGit's writer would."""
    names = [op.name for op in OPERATIONS]
    medians = [op.typical_ms for op in OPERATIONS]
    async with store.connector.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL timezone = 'America/New_York'")
        n = len(names) * PER_MINUTE
        last = minute + timedelta(minutes=1, microseconds=-1)
        await conn.execute(FILL, 0, n, last, names, timedelta(minutes=1) / n, medians)


async def measure_size(srv: str, rows: int, cycles: int) -> dict[str, Any]:
    url = await fresh_database(srv)
    store = await Store.open(url, max_size=10)
    try:
        began = time.perf_counter()
        await fill(store, rows)
        load_s = time.perf_counter() - began
        settings = Settings.load(source={"preset": "pggit"})
        await store.source.apply(settings.source)
        clock = FrozenClock(NOW - timedelta(minutes=1))
        jobs = Jobs(store, settings, AlertService(store, settings, clock))
        began = time.perf_counter()
        await jobs.detect_once(clock.now(), alert=False)  # queues the last week for back-fill
        await store.rollups.backfill()  # what the backfill job does, chunk by chunk
        initial_s = time.perf_counter() - began
        cycle_ms = []
        for i in range(cycles):
            minute = NOW.replace(second=0) - timedelta(minutes=1) + timedelta(minutes=i)
            await new_minute(store, minute)
            at = minute + timedelta(minutes=1, seconds=20)
            clock.set(at)
            t = time.perf_counter()
            await jobs.detect_once(at, alert=False)
            cycle_ms.append((time.perf_counter() - t) * 1000)
        async with store.connector.pool.acquire() as conn:
            plan = "\n".join(
                r[0]
                for r in await conn.fetch(
                    "EXPLAIN " + QUERIES["unknown_source_operations"],
                    NOW - timedelta(minutes=16),
                    NOW,
                    NOW,
                    ".*",
                )
            )
    finally:
        await store.close()
        await drop_database(srv, url)
    return {
        "rows": rows,
        "history_days": HISTORY.days,
        "load_s": round(load_s, 1),
        "initial_rollup_s": round(initial_s, 1),
        "cycle_ms_p50": round(statistics.median(cycle_ms), 1),
        "cycle_ms_max": round(max(cycle_ms), 1),
        "scan_uses_index": "Seq Scan on performance_metrics" not in plan,
    }


async def measure(sizes: list[int], cycles: int) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    results = []
    with server() as srv:
        for rows in sizes:
            print(f"{rows:,} rows", file=sys.stderr)
            results.append(await measure_size(srv, rows, cycles))
    ratio = results[-1]["cycle_ms_p50"] / results[0]["cycle_ms_p50"]
    return {
        "sizes": results,
        "cycle_p50_ratio_largest_to_smallest": round(ratio, 2),
        "target_ratio": 1.2,
        "met": ratio <= 1.2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="row counts, comma-separated")
    parser.add_argument("--cycles", type=int, default=10, help="detection cycles per size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    emit(asyncio.run(measure(sizes, args.cycles)))


if __name__ == "__main__":
    main()

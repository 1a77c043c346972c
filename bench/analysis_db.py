"""The database side of the analysis figures: 7 days / about 10 M rows of pgGit-like metrics in
PostgreSQL (embedded, or PERFBOT_BENCH_DATABASE_URL), then the production jobs end to end:

* detect_cycle_ms: one detection cycle after one new minute of traffic arrived: rollup refresh
  from the new rows, the reference and 7 days of hourly rollups read, scored, anomalies stored,
  alerts decided (median of consecutive minutes);
* baseline_recalc_ms: `Jobs.recalculate` for 33 operations over 7 days (hourly rollups read,
  baselines computed, kept or replaced with history).

Loading and the initial rollup build are reported too (they happen once)."""

import asyncio
import logging
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from common import drop_database, fresh_database, server

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.config import Settings
from bot.demo.workload import Samples, Workload
from bot.jobs import Jobs
from bot.store import Store

CHUNK = 500_000


def rows(samples: Samples, lo: int, hi: int) -> list[tuple[str, float, datetime]]:
    names = samples.operations
    stamps = samples.timestamp[lo:hi].astype("datetime64[ms]").astype(np.int64).tolist()
    return [
        (names[o], d, datetime.fromtimestamp(t / 1000, UTC))
        for o, d, t in zip(
            samples.op[lo:hi].tolist(), samples.duration_ms[lo:hi].tolist(), stamps, strict=True
        )
    ]


async def measure(rate: float, cycles: int) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    workload = Workload(seed=9, rate_per_op_per_min=rate)
    with server() as srv:
        url = await fresh_database(srv)
        store = await Store.open(url, max_size=10)
        try:
            began = time.perf_counter()
            samples = workload.history(now - timedelta(days=7), now)
            for lo in range(0, len(samples), CHUNK):
                await store.metrics.add_rows(rows(samples, lo, lo + CHUNK))
            load_s = time.perf_counter() - began
            began = time.perf_counter()
            await store.rollups.refresh(now, initial_backfill=timedelta(days=7, hours=1))
            await store.rollups.backfill()
            rollup_s = time.perf_counter() - began
            settings = Settings.load()
            clock = FrozenClock(now)
            jobs = Jobs(store, settings, AlertService(store, settings, clock))
            await jobs.recalculate(now)
            await store.jobs.set_watermark("detect", now)
            detect_ms = []
            for i in range(cycles):
                minute = now + timedelta(minutes=i)
                fresh = workload.history(minute, minute + timedelta(minutes=1))
                await store.metrics.add_rows(rows(fresh, 0, len(fresh)))
                cycle_at = minute + timedelta(minutes=1, seconds=10)
                clock.set(cycle_at)
                t = time.perf_counter()
                await jobs.detect_once(cycle_at)
                detect_ms.append((time.perf_counter() - t) * 1000)
            recalc_ms = []
            for _ in range(5):
                t = time.perf_counter()
                await jobs.recalculate(now + timedelta(minutes=cycles, seconds=30))
                recalc_ms.append((time.perf_counter() - t) * 1000)
        finally:
            await store.close()
            await drop_database(srv, url)
    return {
        "source_rows": len(samples),
        "load_s": round(load_s, 1),
        "initial_rollup_build_s": round(rollup_s, 1),
        "detect_cycle_ms": round(statistics.median(detect_ms[1:] or detect_ms), 1),
        "detect_cycle_ms_max": round(max(detect_ms), 1),
        "baseline_recalc_ms": round(statistics.median(recalc_ms), 1),
    }


def run(rate: float = 30.0, cycles: int = 6) -> dict[str, Any]:
    return asyncio.run(measure(rate, cycles))

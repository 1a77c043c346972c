"""How one process scales with the number of operations (issue 16), as JSON.

For 33, 330, 3,300 and 10,000 operations, each in a fresh database of the same PostgreSQL server
(PERFBOT_BENCH_DATABASE_URL, else an embedded one): 7 days of hourly rollups and the last 80
minutes of minute rollups are written directly with COPY (about 300 requests per operation and
hour, 5 per minute: what a week of raw rows would roll up to), then each cycle one new minute of
raw rows arrives (5 requests per operation) and the production `Jobs.detect_once` runs: rollup
refresh from the new rows, reference and hourly rollups read (the first cycle reads the week,
later ones only what changed), scored in the analysis thread, anomalies stored, alerts decided.
Figures: the first cycle, the median of the later ones, ms per operation, and peak RSS (the
process's high-water mark, so each size's figure includes the smaller ones before it). Those
cycles run just after an hour began; then the minutes up to 12:55 are written as rollups and
cycles run late in the hour (`late_in_hour_cycle_ms`: at 12:58:10 and 12:59:10, whose refresh costs the
same as at 12:01 since the hour is not rolled up again from raw rows) and across its end
(`hour_end_cycle_ms`: 13:00:10 and 13:01:10, which store the completed hour merged from its
minutes; the second also takes it into detection's week), then one more (`next_hour_cycle_ms`).

Correlation (`bot.analysis.correlation.correlate`) runs on 2 h of minute means of 10,000
operations with 1 %, 10 % and 100 % of them degraded. `/healthz` is fetched in a loop from the
bot's own HTTP app while a 10,000-operation cycle runs: its p50/p99/max latency.

Run: `python bench/scale.py [sizes...]` (default: 33 330 3300 10000)."""

import asyncio
import logging
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import numpy as np
from aiohttp import web
from common import drop_database, emit, fresh_database, server

from bot import errors
from bot.alerts import AlertService
from bot.analysis import correlation, histogram
from bot.analysis.params import CorrelationParams
from bot.analysis.rollups import Rollups
from bot.app import Bot
from bot.clock import FrozenClock
from bot.config import Settings
from bot.jobs import Jobs
from bot.store import Store
from tests.fakes.server import free_port

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7, hours=1)
MINUTES = 80  # the robust detector reads minutes back to the hour before its 16-minute window
PER_MINUTE = 5
CYCLES = 4


def names(count: int) -> list[str]:
    return [f"svc{i % 97:02d}.endpoint_{i:05d}" for i in range(count)]


def medians(count: int) -> np.ndarray:
    return np.random.default_rng(1).lognormal(2.0, 1.0, count)


def shape(median_ms: float, n: int) -> tuple[list[int], list[int], tuple[float, ...]]:
    """A fixed sparse histogram of `n` requests around `median_ms` (sigma about 0.35) and its
    moments: (idx, cnt, (sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms))."""
    values = median_ms * np.exp(
        0.35 * np.random.default_rng(int(median_ms * 1000)).standard_normal(n)
    )
    idx, cnt = np.unique(histogram.bucket_index(values), return_counts=True)
    logs = np.log(values)
    moments = (
        float(values.sum()),
        float(((values - values.mean()) ** 2).sum()),
        float(logs.sum()),
        float(((logs - logs.mean()) ** 2).sum()),
        float(values.min()),
        float(values.max()),
    )
    return idx.tolist(), cnt.tolist(), moments


async def load(store: Store, count: int) -> float:
    """Operations, a week of hourly and 80 minutes of minute rollups; the seconds it took."""
    began = time.perf_counter()
    async with store.connector.connection() as conn:
        await conn.copy_records_to_table(
            "operations",
            schema_name="perfbot",
            records=[(o,) for o in names(count)],
            columns=["name"],
        )
    await copy_rollups(store, count, "hour", NOW - WEEK, NOW)
    await copy_rollups(store, count, "minute", NOW - timedelta(minutes=MINUTES), NOW)
    await store.jobs.set_watermark("rollup", NOW)
    await store.jobs.set_watermark("detect", NOW - timedelta(minutes=1))
    return time.perf_counter() - began


async def copy_rollups(
    store: Store, count: int, resolution: str, start: datetime, end: datetime
) -> None:
    """Rollups (`hour` or `minute`) of every operation for the buckets [start, end): one
    shape per operation and resolution, copied once; the rows are made server-side."""
    meds = medians(count)
    per_bucket = 60 * PER_MINUTE if resolution == "hour" else PER_MINUTE
    shapes = [shape(m, per_bucket) for m in meds]
    step = timedelta(hours=1) if resolution == "hour" else timedelta(minutes=1)
    async with store.connector.connection() as conn:
        await conn.execute(
            "CREATE TEMP TABLE shape (operation_type text, n int, sum_ms float8, m2_ms float8,"
            " sum_log float8, m2_log float8, min_ms float8, max_ms float8, hist bytea)"
        )
        records = [
            (o, per_bucket, *m, histogram.pack(idx, cnt))
            for o, (idx, cnt, m) in zip(names(count), shapes, strict=True)
        ]
        await conn.copy_records_to_table("shape", records=records)
        await conn.execute(
            f"INSERT INTO perfbot.rollup_{resolution} SELECT s.operation_type, b, s.n,"  # noqa: S608
            " s.sum_ms, s.m2_ms, s.sum_log, s.m2_log, s.min_ms, s.max_ms, s.hist"
            " FROM shape s CROSS JOIN generate_series($1::timestamptz,"
            " $2::timestamptz - $3::interval, $3::interval) AS b",
            start,
            end,
            step,
        )
        await conn.execute("DROP TABLE shape")
        await conn.execute(f"ANALYZE perfbot.rollup_{resolution}")


def minute_rows(count: int, minute: datetime, seed: int) -> list[tuple[str, float, datetime]]:
    rng = np.random.default_rng(seed)
    ops = names(count)
    meds = medians(count)
    out = []
    for i in range(PER_MINUTE):
        at = minute + timedelta(seconds=5 + 10 * i)
        values = meds * np.exp(0.35 * rng.standard_normal(count))
        out.extend(zip(ops, values.tolist(), [at] * count, strict=True))
    return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def healthz_probe(bot: Bot, stop: asyncio.Event) -> list[float]:
    """GET /healthz in a loop until `stop`; each latency in ms."""
    port = free_port()
    runner = web.AppRunner(bot.http_app())
    await runner.setup()
    latencies: list[float] = []
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not stop.is_set():
                t = time.perf_counter()
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    await resp.read()
                latencies.append((time.perf_counter() - t) * 1000)
                await asyncio.sleep(0.01)
    finally:
        await runner.cleanup()
    return latencies


async def cycle(
    jobs: Jobs, clock: FrozenClock, count: int, minute: datetime, seed: int
) -> tuple[float, int]:
    """The raw rows of `minute` arrive; the detect cycle runs 70 s later. Its ms and how many
    anomalies it stored."""
    await jobs.store.metrics.add_rows(minute_rows(count, minute, seed))
    at = minute + timedelta(minutes=1, seconds=10)
    clock.set(at)
    t = time.perf_counter()
    found = await jobs.detect_once(at, alert=False)
    return (time.perf_counter() - t) * 1000, len(found)


async def hour_end(jobs: Jobs, clock: FrozenClock, count: int) -> dict[str, list[float]]:
    """Cycles late in the hour and across its end. The minutes 12:04-12:55 are written as
    rollups (not timed), then cycles run on the raw rows of 12:56-13:01: the refresh rolls up
    only its last minutes, whatever the hour's age, and stores the hour of 12:00 once it is
    complete (merged from its minutes, at 13:00:10 and again at 13:01:10, while 12:59 may
    still take late rows); at 13:01:10 detection also takes the completed hour into its
    week."""
    first = NOW + timedelta(minutes=CYCLES)
    await copy_rollups(jobs.store, count, "minute", first, NOW + timedelta(minutes=56))
    await jobs.store.jobs.set_watermark("rollup", NOW + timedelta(minutes=57))
    await jobs.store.jobs.set_watermark("detect", NOW + timedelta(minutes=56))
    ms = [
        (await cycle(jobs, clock, count, NOW + timedelta(minutes=m), 100 + m))[0]
        for m in range(56, 62)
    ]
    # 12:56 reads the minutes written behind the cache's back: not a steady-state figure
    return {"late_in_hour": ms[1:3], "hour_end": ms[3:5], "next_hour": ms[5:]}


async def size(srv: str, count: int, probe: bool) -> dict[str, Any]:
    url = await fresh_database(srv)
    store = await Store.open(url, max_size=10)
    try:
        load_s = await load(store, count)
        settings = Settings.load(
            detection={"max_operations": count + 10, "max_new_operations_per_hour": count + 10}
        )
        store.operations.limits = store.operations.limits.__class__(count + 10, count + 10)
        clock = FrozenClock(NOW)
        jobs = Jobs(store, settings, AlertService(store, settings, clock))
        t = time.perf_counter()
        await jobs.recalculate(NOW)
        baselines_s = time.perf_counter() - t
        cycles_ms: list[float] = []
        anomalies = 0
        health: list[float] = []
        for i in range(CYCLES):
            stop = asyncio.Event()
            prober = None
            if probe and i == CYCLES - 1:
                bot = Bot.build(settings, store, clock)
                prober = asyncio.create_task(healthz_probe(bot, stop))
                await asyncio.sleep(0.2)
            ms, found = await cycle(jobs, clock, count, NOW + timedelta(minutes=i), i)
            cycles_ms.append(ms)
            anomalies += found
            stop.set()
            if prober is not None:
                health = await prober
        later = await hour_end(jobs, clock, count)
    finally:
        await store.close()
        await drop_database(srv, url)
    warm = statistics.median(cycles_ms[1:])
    figures: dict[str, Any] = {
        "operations": count,
        "load_s": round(load_s, 1),
        "baselines_s": round(baselines_s, 2),
        "first_cycle_ms": round(cycles_ms[0], 1),
        "cycle_ms": round(warm, 1),
        "cycle_ms_all": [round(c, 1) for c in cycles_ms],
        "us_per_operation": round(1000 * warm / count, 1),
        "anomalies": anomalies,
        "peak_rss_mb": round(rss_mb()),
        "late_in_hour_cycle_ms": [round(c, 1) for c in later["late_in_hour"]],
        "hour_end_cycle_ms": [round(c, 1) for c in later["hour_end"]],
        "next_hour_cycle_ms": [round(c, 1) for c in later["next_hour"]],
    }
    if health:
        ordered = sorted(health)
        figures["healthz_during_cycle"] = {
            "requests": len(ordered),
            "p50_ms": round(ordered[len(ordered) // 2], 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
            "max_ms": round(ordered[-1], 1),
        }
    return figures


def correlation_figures(count: int) -> list[dict[str, Any]]:
    """correlate() over 2 h of minute means of `count` operations, a share of them degraded
    (the degraded ones share a common slowdown, so many pairs correlate)."""
    rng = np.random.default_rng(3)
    ops = names(count)
    minutes = 120
    shared = np.cumsum(rng.standard_normal(minutes))
    out = []
    for share in (0.01, 0.10, 1.0):
        degraded = ops[: max(2, int(count * share))]
        k = len(degraded)
        base = medians(count)[:, None] * np.exp(0.1 * rng.standard_normal((count, minutes)))
        base[:k] *= np.exp(0.05 * shared)[None, :]
        op = np.repeat(np.arange(count), minutes)
        stamps = np.tile(
            np.datetime64(int((NOW - timedelta(hours=2)).timestamp()), "s")
            + (np.arange(minutes) * 60).astype("timedelta64[s]"),
            count,
        )
        values = base.ravel()
        rows = Rollups(
            tuple(ops),
            op,
            stamps,
            np.full(len(op), PER_MINUTE),
            values * PER_MINUTE,
            np.zeros(len(op)),
            np.log(values) * PER_MINUTE,
            np.zeros(len(op)),
            values,
            values,
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
        )
        before = rss_mb()
        t = time.perf_counter()
        found = correlation.correlate(rows, degraded, CorrelationParams(), NOW)
        out.append(
            {
                "operations": count,
                "degraded": k,
                "ms": round((time.perf_counter() - t) * 1000, 1),
                "pairs_reported": len(found),
                "peak_rss_mb_before": round(before),
                "peak_rss_mb_after": round(rss_mb()),
            }
        )
    return out


async def measure(counts: list[int]) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    sizes = []
    with server() as srv:
        for count in counts:
            try:
                sizes.append(await size(srv, count, probe=count == max(counts)))
            except (errors.BotError, MemoryError) as exc:  # a failing size is a figure too
                sizes.append({"operations": count, "error": f"{type(exc).__name__}: {exc}"})
            print(sizes[-1], file=sys.stderr, flush=True)
    by = {s["operations"]: s for s in sizes}
    ratio = None
    if "us_per_operation" in by.get(330, {}) and "us_per_operation" in by.get(10_000, {}):
        ratio = round(by[10_000]["us_per_operation"] / by[330]["us_per_operation"], 2)
    return {
        "detect_cycle": sizes,
        "per_operation_ratio_10000_vs_330": ratio,
        "correlation": correlation_figures(max(counts)),
    }


def run(counts: list[int]) -> dict[str, Any]:
    return asyncio.run(measure(counts))


if __name__ == "__main__":
    emit(run([int(a) for a in sys.argv[1:]] or [33, 330, 3300, 10_000]))

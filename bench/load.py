"""Load: `perfbot run` (its own process, on PostgreSQL: embedded unless
PERFBOT_BENCH_DATABASE_URL is set) ingests metrics through `POST /api/v1/metrics` at a target
rate (default 10,000/s, in batches, sent by a separate process over several connections)
while rounds of 50 concurrent signed `/perf anomalies` Slack requests run, on the chat bench's
database (7 days of metrics for 33 operations, rollups, ~2,800 anomalies, alerts). Detection
runs every `--detect-interval` (default 10 s, shorter than production's 60 s so that a run
sees several cycles, each of which rolls up the rows that arrived meanwhile).

Prints JSON:
- slash_ack_p50/p99/max_ms: signed request sent → HTTP 200 ack, during the ingest load
  (target p99 ≤ 300 ms); reply_p50/p99_ms: → the answer posted to the response_url;
- ingest: target and achieved rows/s (acknowledged rows ÷ sending time), POST latency, errors;
- lag: `ingest_lag_*_s` is, for every acknowledged batch, the time from its 201 to the moment
  the rollups detection reads are known to contain it: the rollup watermark, which a detect
  cycle's refresh sets to the time it started (rows acknowledged before that are in it),
  commits a value at or after the batch's acknowledgement (polled every 0.1 s; an upper bound,
  by up to one cycle for batches acknowledged during a refresh). A pipeline that keeps up puts
  every batch in the first cycle that starts after it: lag ≤ interval + that cycle's duration;
  `keeping_up` says whether every batch made it (lag_max ≤ interval + the longest cycle, with
  every cycle shorter than the interval, so none was skipped). `detect_watermark_lag_max_s` is
  how far the scored minutes trailed the wall clock (by design up to a minute + settle + one
  interval: detection scores complete minutes);
- rollups_vs_raw_during_load: raw rows and rolled-up rows in the minutes of the load, once
  the last batch is rolled up (equal: nothing was missed); perfbot_cpu_cores_during_load: the bot process's CPU time ÷ wall
  time (PostgreSQL's is not counted).

Usage: ./dev bench load [--rate 10000] [--seconds 60] [--batch 500] [--connections 4]"""

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import numpy as np
from chat import OPERATIONS, pct, perfbot_env, round_, seed, start_perfbot, wait_ready
from common import Timer, drop_database, emit, fresh_database, server

from bot.durations import parse_duration
from tests.acceptance.slack_user import SlackUser
from tests.fakes.server import free_port, serve_in_thread
from tests.fakes.slack import SlackFake
from tests.polling import eventually

SLASH_TEXT = "anomalies"
WARM_UP_S = 8.0

# ---- the ingest client (its own process) -------------------------------------------------------


def batch_body(rng: np.random.Generator, size: int) -> bytes:
    """`size` metrics stamped now, as the JSON body of one POST."""
    now = datetime.now(UTC)
    stamp = now.isoformat()
    ops = rng.integers(0, len(OPERATIONS), size)
    durations = rng.lognormal(1.5, 0.5, size)
    items = [
        f'{{"operation_type":"{OPERATIONS[o]}","duration_ms":{d:.3f},"recorded_at":"{stamp}"}}'
        for o, d in zip(ops, durations, strict=True)
    ]
    return ("[" + ",".join(items) + "]").encode()


async def ingest_client(
    url: str, rate: float, seconds: float, batch: int, connections: int
) -> None:
    """Send `rate` metrics/s for `seconds` in batches, paced; print what was acknowledged."""
    total = int(rate * seconds / batch)
    interval = batch / rate
    acks: list[tuple[float, int]] = []
    post_s: list[float] = []
    errors: list[str] = []
    next_batch = 0
    rng = np.random.default_rng(3)
    started = time.time()

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal next_batch
        while next_batch < total:
            k = next_batch
            next_batch += 1
            delay = started + k * interval - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            body = batch_body(rng, batch)
            sent = time.time()
            try:
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    answer = await response.read()
                    if response.status != 201:
                        errors.append(f"{response.status} {answer[:100]!r}")
                        continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors.append(type(exc).__name__)
                continue
            done = time.time()
            acks.append((done, batch))
            post_s.append(done - sent)

    async with aiohttp.ClientSession(
        trust_env=False,
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=30),
    ) as session:
        await asyncio.gather(*(sender(session) for _ in range(connections)))
    finished = time.time()
    print(
        json.dumps(
            {
                "started": started,
                "finished": finished,
                "acks": acks,
                "post_s": post_s,
                "errors": errors[:20],
                "error_count": len(errors),
            }
        )
    )


# ---- the bench -------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far; 0 where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sample_watermarks(url: str, stop: asyncio.Event) -> list[tuple[float, float, float]]:
    """(wall time, rollup watermark, detect watermark) every 0.1 s until `stop`."""
    conn = await asyncpg.connect(url, timeout=10)
    samples: list[tuple[float, float, float]] = []
    try:
        while True:
            last = stop.is_set()  # one more sample after `stop`, to see the final watermark
            rows = await conn.fetch(
                "SELECT name, value FROM perfbot.watermarks WHERE name IN ('rollup', 'detect')",
                timeout=5,
            )
            marks = {r["name"]: r["value"].timestamp() for r in rows}
            samples.append((time.time(), marks.get("rollup", 0.0), marks.get("detect", 0.0)))
            if last:
                break
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return samples


def lags(acks: list[tuple[float, int]], samples: list[tuple[float, float, float]]) -> list[float]:
    """Per batch: its acknowledgement → the first sample whose rollup watermark reaches it."""
    out = []
    for acked, _ in acks:
        seen = next((t for t, rollup, _ in samples if rollup >= acked), None)
        out.append((seen - acked) if seen is not None else float("inf"))
    return out


async def completeness(url: str, since: float, until: float) -> dict[str, int]:
    """Raw rows and rolled-up rows recorded in [since, until): equal when nothing is missing."""
    conn = await asyncpg.connect(url, timeout=10)
    window = (datetime.fromtimestamp(since, UTC), datetime.fromtimestamp(until, UTC))
    try:
        raw = await conn.fetchval(
            "SELECT count(*) FROM perfbot.metrics WHERE recorded_at >= $1 AND recorded_at < $2",
            *window,
        )
        rolled = await conn.fetchval(
            "SELECT coalesce(sum(n), 0) FROM perfbot.rollup_minute"
            " WHERE bucket >= $1 AND bucket < $2",
            *window,
        )
    finally:
        await conn.close()
    return {"raw_rows": int(raw), "rolled_up_rows": int(rolled)}


async def detect_runs(url: str, since: float, until: float) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT started_at, duration_ms, status, rows, error FROM perfbot.job_runs"
            " WHERE job = 'detect' AND started_at >= $1 AND started_at <= $2 ORDER BY started_at",
            datetime.fromtimestamp(since, UTC),
            datetime.fromtimestamp(until, UTC),
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def slash_rounds(
    user: SlackUser, concurrency: int, rounds: int, start_at: float, every: float
) -> tuple[list[float], list[float]]:
    acks: list[float] = []
    replies: list[float] = []
    for i in range(rounds):
        delay = start_at + i * every - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        a, r = await round_(user, concurrency, SLASH_TEXT)
        acks += a
        replies += r
    return acks, replies


async def run_ingest(base: str, args: argparse.Namespace) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--ingest-worker", f"{base}/api/v1/metrics",
        "--rate", str(args.rate), "--seconds", str(args.seconds), "--batch", str(args.batch),
        "--connections", str(args.connections),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit("the ingest client failed")
    result: dict[str, Any] = json.loads(out)
    return result


async def main(args: argparse.Namespace) -> None:
    interval_s = parse_duration(args.detect_interval).total_seconds()
    tmp = Path(tempfile.mkdtemp(prefix="perfbot-bench-"))
    with server() as srv, serve_in_thread(SlackFake()) as fake:
        assert isinstance(fake, SlackFake)
        url = await fresh_database(srv)
        try:
            with Timer() as seeding:
                sizes = await seed(url, tmp)
            port = free_port()
            env = perfbot_env(url, port, fake, PERFBOT_DETECTION__INTERVAL=args.detect_interval)
            bot = await start_perfbot(env)
            try:
                base = f"http://127.0.0.1:{port}"
                await wait_ready(base)
                user = SlackUser(fake, f"{base}/slack/events")
                await round_(user, args.concurrency, SLASH_TEXT)  # warm-up: auth.test, pools
                idle_acks, _ = await round_(user, args.concurrency, SLASH_TEXT)
                stop = asyncio.Event()
                sampler = asyncio.create_task(sample_watermarks(url, stop))
                load_start = time.time()
                cpu_before = cpu_seconds(bot.pid)
                ingest = asyncio.create_task(run_ingest(base, args))
                every = (args.seconds - WARM_UP_S - 2) / max(args.rounds, 1)
                acks, replies = await slash_rounds(
                    user, args.concurrency, args.rounds, load_start + WARM_UP_S, every
                )
                sent = await ingest
                cpu = (cpu_seconds(bot.pid) - cpu_before) / (time.time() - load_start)
                last_ack = max((a for a, _ in sent["acks"]), default=load_start)
                with contextlib.suppress(AssertionError):  # the lag figures will show it
                    await eventually(
                        lambda: _rolled_up(url, last_ack), within=3 * interval_s + 30, every=0.5
                    )
                stop.set()
                samples = await sampler
                runs = await detect_runs(url, load_start, time.time())
                # Whole minutes, as rollups count them; nothing is recorded after the last ack.
                first, last = load_start - load_start % 60, last_ack - last_ack % 60 + 60
                counted = await completeness(url, first, last)
            finally:
                bot.terminate()
                await asyncio.wait_for(bot.wait(), 30)
        finally:
            await drop_database(srv, url)
    figures = report(
        args, interval_s, sizes, seeding.seconds, idle_acks, acks, replies, sent, samples, runs
    )
    emit(
        figures
        | {
            "perfbot_cpu_cores_during_load": round(cpu, 2),
            "rollups_vs_raw_during_load": counted,
        }
    )


async def _rolled_up(url: str, acked: float) -> bool:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        value = await conn.fetchval("SELECT value FROM perfbot.watermarks WHERE name = 'rollup'")
    finally:
        await conn.close()
    return value is not None and value.timestamp() >= acked


def report(
    args: argparse.Namespace,
    interval_s: float,
    sizes: dict[str, int],
    seed_s: float,
    idle_acks: list[float],
    acks: list[float],
    replies: list[float],
    sent: dict[str, Any],
    samples: list[tuple[float, float, float]],
    runs: list[dict[str, Any]],
) -> dict[str, Any]:
    rows = sum(n for _, n in sent["acks"])
    sending_s = sent["finished"] - sent["started"]
    lag = lags(sent["acks"], samples)
    cycles = [r["duration_ms"] / 1000 for r in runs if r["duration_ms"] is not None]
    cycle_max = max(cycles, default=float("nan"))
    detect_lag = [t - d for t, _, d in samples if d > 0]
    keeping_up = (
        bool(lag)
        and max(lag) <= interval_s + cycle_max + 0.2
        and cycle_max < interval_s
        and all(r["status"] == "success" for r in runs)
    )
    return {
        "command": f"/perf {SLASH_TEXT}",
        "concurrency": args.concurrency,
        "slash_requests": len(acks),
        "slash_ack_p50_ms": pct(acks, 50),
        "slash_ack_p99_ms": pct(acks, 99),
        "slash_ack_max_ms": pct(acks, 100),
        "target_ack_p99_ms": 300,
        "slash_ack_p99_ms_idle": pct(idle_acks, 99),
        "reply_p50_ms": pct(replies, 50),
        "reply_p99_ms": pct(replies, 99),
        "ingest": {
            "target_rows_per_s": args.rate,
            "achieved_rows_per_s": round(rows / sending_s),
            "rows": rows,
            "seconds": round(sending_s, 1),
            "batch": args.batch,
            "connections": args.connections,
            "post_p50_ms": pct(sent["post_s"], 50),
            "post_p99_ms": pct(sent["post_s"], 99),
            "errors": sent["error_count"],
        },
        "lag": {
            "detect_interval_s": interval_s,
            "detect_cycles": len(runs),
            "detect_failed": sum(1 for r in runs if r["status"] != "success"),
            "detect_errors": sorted({r["error"] for r in runs if r["error"]}),
            "detect_cycle_p50_s": round(float(np.median(cycles)), 2) if cycles else None,
            "detect_cycle_max_s": round(cycle_max, 2),
            "ingest_lag_p50_s": round(float(np.percentile(lag, 50)), 2),
            "ingest_lag_p99_s": round(float(np.percentile(lag, 99)), 2),
            "ingest_lag_max_s": round(max(lag), 2),
            "ingest_lag_max_cycles": round(max(lag) / interval_s, 2),
            "detect_watermark_lag_max_s": round(max(detect_lag), 1) if detect_lag else None,
            "keeping_up": keeping_up,
        },
        "seeded": sizes,
        "seed_s": round(seed_s, 1),
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--detect-interval", default="10s")
    parser.add_argument("--ingest-worker", metavar="URL", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    if arguments.ingest_worker:
        asyncio.run(
            ingest_client(
                arguments.ingest_worker,
                arguments.rate,
                arguments.seconds,
                arguments.batch,
                arguments.connections,
            )
        )
    else:
        asyncio.run(main(arguments))

"""Slash-command latency under load: `perfbot run` (its own process) on a database with 7 days
of metrics for 33 operations, rollups, ~2,800 anomalies and the alerts of the last hours; 50
concurrent `/perf anomalies` requests, each signed with the signing secret like Slack's, in
several rounds after a warm-up round. The Slack stand-in (its own thread) hands out the
response_urls and receives the answers.

Prints JSON: slash_ack_p50_ms / slash_ack_p99_ms / slash_ack_max_ms (request sent → HTTP 200
ack received; target p99 ≤ 200 ms, Slack's limit is 3,000 ms) and reply_p50_ms / reply_p99_ms
(request sent → the answer posted to the response_url), with the data sizes and the machine.
Usage: ./dev bench chat [--concurrency 50] [--rounds 6]"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import numpy as np
from common import Timer, drop_database, emit, fresh_database, server

from bot.alerts import AlertService
from bot.clock import SystemClock
from bot.config import Settings
from bot.ingest import MetricCsv
from bot.models import Anomaly, AnomalyKind, Severity
from bot.store import Store
from tests.acceptance.slack_user import SIGNING_SECRET, SlackUser, signed_headers
from tests.fakes.server import free_port, serve_in_thread
from tests.fakes.slack import SlackFake

OPERATIONS = [
    "commit", "merge", "merge_branches", "merge_base", "merge_conflicts", "get_history",
    "get_object_timeline", "branch_create", "branch_delete", "branch_list", "rollback",
    "rollback_commit", "rollback_merge", "checkout", "diff", "diff_tree", "log", "tag_create",
    "tag_list", "status", "stash", "stash_pop", "cherry_pick", "rebase", "revert", "blame",
    "show", "reset", "gc", "fsck", "query", "query_history", "export",
]  # fmt: skip
DAYS = 7
PER_MINUTE = 1  # per operation


def write_metrics(path: Path, now: datetime, seed: int = 11) -> int:
    rng = np.random.default_rng(seed)
    minutes = DAYS * 24 * 60
    start = np.datetime64(now.replace(tzinfo=None), "s") - np.timedelta64(minutes, "m")
    rows = 0
    with path.open("w") as f:
        f.write("operation_type,duration_ms,recorded_at\n")
        for k, op in enumerate(OPERATIONS):
            offsets = np.arange(minutes * PER_MINUTE) * (60 // PER_MINUTE) + rng.integers(
                0, 59, minutes * PER_MINUTE
            )
            stamps = np.datetime_as_string(start + offsets.astype("timedelta64[s]"), unit="s")
            durations = rng.lognormal(1.5 + k / 20, 0.5, len(offsets))
            f.writelines(f"{op},{d:.3f},{s}Z\n" for d, s in zip(durations, stamps, strict=True))
            rows += len(offsets)
    return rows


def anomalies(now: datetime, seed: int = 5) -> list[Anomaly]:
    rng = np.random.default_rng(seed)
    out = []
    for hours in range(0, DAYS * 24, 2):
        for op in OPERATIONS:
            at = now - timedelta(hours=hours, minutes=int(rng.integers(0, 119)))
            severity = [Severity.INFO, Severity.WARNING, Severity.CRITICAL][int(rng.integers(0, 3))]
            out.append(
                Anomaly(
                    operation_type=op,
                    kind=AnomalyKind.STATISTICAL,
                    severity=severity,
                    detector="robust",
                    z_score=float(rng.uniform(3, 8)),
                    value_ms=float(rng.uniform(50, 900)),
                    baseline_mean_ms=10.0,
                    baseline_p99_ms=40.0,
                    outliers=int(rng.integers(1, 9)),
                    samples=60,
                    window_start=at - timedelta(minutes=1),
                    window_end=at,
                    detected_at=at,
                )
            )
    return out


async def seed(url: str, tmp: Path) -> dict[str, int]:
    now = datetime.now(UTC)
    store = await Store.open(url)
    try:
        path = tmp / "metrics.csv"
        rows = write_metrics(path, now)
        with path.open("rb") as stream:
            await store.metrics.copy_csv(MetricCsv(stream, now=now))
        await store.rollups.refresh(now, initial_backfill=timedelta(days=DAYS + 1))
        await store.rollups.backfill()
        found = await store.findings.add_anomalies(anomalies(now))
        recent = [a for a in found if a.detected_at >= now - timedelta(hours=3)]
        alerts = await AlertService(store, Settings.load(), SystemClock()).process_anomalies(
            recent, now
        )
    finally:
        await store.close()
    return {"metrics": rows, "anomalies": len(found), "alerts": len({a.id for a in alerts})}


def perfbot_env(url: str, port: int, fake: SlackFake, **extra: str) -> dict[str, str]:
    """The environment of a `perfbot run` on `url` and `port` with the Slack stand-in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PERFBOT_") and "proxy" not in k.lower()
    }
    return env | {
        "PERFBOT_DATABASE_URL": url,
        "PERFBOT_HTTP__PORT": str(port),
        "PERFBOT_SLACK__BOT_TOKEN": fake.token,
        "PERFBOT_SLACK__SIGNING_SECRET": SIGNING_SECRET,
        "PERFBOT_SLACK__API_URL": fake.api_url,
        "PERFBOT_LOG_LEVEL": "WARNING",
        **extra,
    }


async def start_perfbot(env: dict[str, str]) -> asyncio.subprocess.Process:
    """`perfbot run` as its own process (its output discarded)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def wait_ready(url: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession(trust_env=False) as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=2)):
                    return
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.2)
    raise SystemExit("perfbot did not start")


async def one(
    session: aiohttp.ClientSession, user: SlackUser, text: str
) -> tuple[float, str, float]:
    """Send one signed slash command; (ack seconds, response_url id, send time)."""
    response_url = user.fake.new_response_url()
    body = user.slash_body(text, response_url)
    headers = signed_headers(body)
    started = time.time()
    status, _ = await user.post(session, body, headers)
    acked = time.time() - started
    if status != 200:
        raise SystemExit(f"slash command answered {status}")
    return acked, response_url.rsplit("/", 1)[-1], started


async def round_(user: SlackUser, concurrency: int, text: str) -> tuple[list[float], list[float]]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        trust_env=False, connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        sent = await asyncio.gather(*(one(session, user, text) for _ in range(concurrency)))
    deadline = time.monotonic() + 30
    fake = user.fake
    while any(not fake.response_urls[rid].posts for _, rid, _ in sent):
        if time.monotonic() > deadline:
            raise SystemExit("replies did not all arrive within 30 s")
        await asyncio.sleep(0.01)
    arrived = {
        c.path.rsplit("/", 1)[-1]: c.at for c in list(fake.calls) if c.method == "response_url"
    }
    return [a for a, _, _ in sent], [arrived[rid] - t0 for _, rid, t0 in sent]


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values) * 1000, q)), 1)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--text", default="anomalies")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="perfbot-bench-"))
    with server() as srv, serve_in_thread(SlackFake()) as fake:
        assert isinstance(fake, SlackFake)
        url = await fresh_database(srv)
        try:
            with Timer() as seeding:
                sizes = await seed(url, tmp)
            port = free_port()
            bot = await start_perfbot(perfbot_env(url, port, fake))
            try:
                base = f"http://127.0.0.1:{port}"
                await wait_ready(base)
                user = SlackUser(fake, f"{base}/slack/events")
                await round_(user, args.concurrency, args.text)  # warm-up: auth.test, pools
                acks: list[float] = []
                replies: list[float] = []
                for _ in range(args.rounds):
                    a, r = await round_(user, args.concurrency, args.text)
                    acks += a
                    replies += r
            finally:
                bot.terminate()
                await asyncio.wait_for(bot.wait(), 20)
        finally:
            await drop_database(srv, url)
    emit(
        {
            "command": f"/perf {args.text}",
            "concurrency": args.concurrency,
            "requests": len(acks),
            "slash_ack_p50_ms": pct(acks, 50),
            "slash_ack_p99_ms": pct(acks, 99),
            "slash_ack_max_ms": pct(acks, 100),
            "target_ack_p99_ms": 200,
            "reply_p50_ms": pct(replies, 50),
            "reply_p99_ms": pct(replies, 99),
            "operations": len(OPERATIONS),
            "days": DAYS,
            **{f"{k}_rows": v for k, v in sizes.items()},
            "seed_s": round(seeding.seconds, 1),
        }
    )


if __name__ == "__main__":
    asyncio.run(main())

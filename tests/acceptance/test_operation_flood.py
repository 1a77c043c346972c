"""50,000 made-up operation names sent to a real `perfbot run` through the ingest API: the new
names past the cap are refused with clear 422s (and so are back-filled history older than the
detection lookback and a name that is chat markup), and afterwards the detection cycle's median
stays under twice its idle median, no cycle scores more than the capped names, and the process
stays under 500 MB of memory (without the cap the names would all be rolled up and scored: the
issue measured the cycle going from 50 ms to 56 s and 6 GB).

The detection cycle time is the duration the job runner records for each `detect` run
(`perfbot.job_runs`); a phase lasts until a cycle has scored a new minute (detect runs every
2 s here, and only the first run after a minute ends scores it), so both phases hold the same
kinds of cycles."""

import io
import json
import re
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot.alerts import AlertService
from bot.clock import SystemClock
from bot.config import Settings
from bot.demo.operations import OPERATION_NAMES
from bot.jobs import Jobs
from bot.store import Store
from tests.acceptance.harness import AUTH, PerfbotProcess
from tests.factories import latency_history
from tests.polling import eventually

NAMES = 50_000
BATCH = 10_000  # items per request: ~0.9 MB, under the default http.max_body_bytes (1 MiB)
HOURLY_CAP = 200  # detection.max_new_operations_per_hour's default
SETTLE = timedelta(seconds=1)
RSS_LIMIT_KB = 500 * 1024
WORKLOAD = OPERATION_NAMES  # pgGit's own operations, 10 samples a minute each


async def post_ingest(
    session: aiohttp.ClientSession, bot: PerfbotProcess, path: str, body: Any
) -> tuple[int, dict[str, Any]]:
    """POST a JSON body to the ingest API (with the bearer token)."""
    data = io.BytesIO(
        json.dumps(body, separators=(",", ":")).encode()
    )  # aiohttp warns about large bytes bodies
    headers = {"Content-Type": "application/json", **AUTH}
    async with session.post(f"{bot.url}{path}", data=data, headers=headers) as resp:
        return resp.status, await resp.json()


def items(names: range, at: datetime) -> list[dict[str, Any]]:
    return [
        {
            "operation_type": f"flood.{i:05d}",
            "duration_ms": 1.0 + i % 7,
            "recorded_at": f"{at:%Y-%m-%dT%H:%M:%SZ}",
        }
        for i in names
    ]


async def detect_runs(store: Store, since: datetime) -> list[tuple[datetime, float]]:
    async with store.connector.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT slot, duration_ms FROM perfbot.job_runs"
            " WHERE job = 'detect' AND status = 'success' AND slot >= $1 ORDER BY slot",
            since,
        )
    return [(r["slot"], r["duration_ms"]) for r in rows]


def scored_minute(slot: datetime) -> datetime:
    """The last complete minute a detect run at `slot` scores up to."""
    return (slot - SETTLE).replace(second=0, microsecond=0)


async def phase(store: Store, since: datetime) -> list[float]:
    """Detect durations (ms) from `since` until a run has scored a minute that ended after it."""
    first = scored_minute(since)
    runs: list[tuple[datetime, float]] = []

    async def scored() -> bool:
        nonlocal runs
        runs = await detect_runs(store, since)
        return any(scored_minute(slot) > first for slot, _ in runs) and len(runs) >= 5

    await eventually(scored, within=150, every=0.5)
    return [ms for _, ms in runs]


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")


async def test_fifty_thousand_new_operations_are_refused_and_harmless(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    history = []
    for seed, op in enumerate(WORKLOAD):
        history += latency_history(
            op, minute - timedelta(hours=3), minute + timedelta(minutes=8), median_ms=5.0,
            per_minute=10, seed=seed,
        )  # fmt: skip
    await store.metrics.add(history)
    config: dict[str, Any] = {
        "detection": {"interval": "2s", "settle": "1s"},
        "schedules": {"escalate": "1h"},
    }
    # One cycle here first (rollups of the history, baselines), so that the bot's are all the
    # steady-state kind.
    settings = Settings.load(**config)
    jobs = Jobs(store, settings, AlertService(store, settings, SystemClock()))
    await jobs.detect_once(datetime.now(UTC), alert=False)
    await store.rollups.backfill()  # the history that cycle queued, before the bot starts
    async with PerfbotProcess(db_url, tmp_path, config) as bot:
        assert bot.process is not None
        idle = await phase(store, datetime.now(UTC))

        at = datetime.now(UTC)
        answers = []
        async with aiohttp.ClientSession(trust_env=False) as session:
            # Spike-level history back-filled into the reference, and a name that is markup.
            old = (at - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
            backfill = [{"operation_type": "commit", "duration_ms": 900.0, "recorded_at": old}]
            refused_early = [
                await post_ingest(session, bot, "/api/v1/metrics", backfill),
                await post_ingest(session, bot, "/api/v1/metrics", [
                    {"operation_type": "<!channel> prod DB is down", "duration_ms": 1.0,
                     "recorded_at": f"{at:%Y-%m-%dT%H:%M:%SZ}"}
                ]),
            ]  # fmt: skip
            # A first request fills the hourly cap; every later one brings new names past it.
            fill = items(range(HOURLY_CAP - len(WORKLOAD)), at)  # the workload's names are new too
            answers.append(await post_ingest(session, bot, "/api/v1/metrics", fill))
            for start in range(len(fill), NAMES, BATCH):
                batch = items(range(start, min(start + BATCH, NAMES)), at)
                answers.append(await post_ingest(session, bot, "/api/v1/metrics", batch))
        flooded = await phase(store, datetime.now(UTC))
        peak = peak_rss_kb(bot.process.pid)
        output = bot.output()

    (status, backfilled), (status2, markup) = refused_early
    assert status == 422
    assert backfilled["error"].startswith("item 0: recorded_at is older than detection.lookback")
    assert "perfbot ingest" in backfilled["error"]
    assert status2 == 422
    assert markup["error"].startswith("item 0: operation_type: has character U+003C at position 1")
    assert answers[0] == (201, {"stored": HOURLY_CAP - len(WORKLOAD)})
    refusals = answers[1:]
    assert len(refusals) == 5
    for status, body in refusals:
        assert status == 422, body
        assert body["error"].startswith("item 0: new operation 'flood.")
        assert (
            "detection.max_new_operations_per_hour is 200 (200 first seen in the last hour)"
            in body["error"]
        )
        assert "known operations are still accepted" in body["error"]
    assert "action=operations_refused" in output
    async with store.connector.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM perfbot.operations") == HOURLY_CAP
        assert await conn.fetchval(
            "SELECT count(*) FROM perfbot.metrics WHERE operation_type LIKE 'flood.%'"
        ) == HOURLY_CAP - len(WORKLOAD)

    idle_ms, flooded_ms = statistics.median(idle), statistics.median(flooded)
    report = f"idle {sorted(idle)} ms, after the flood {sorted(flooded)} ms, peak RSS {peak} kB"
    print(report)
    assert flooded_ms < 2 * idle_ms, report
    # What made cycles orders of magnitude slower (50 ms -> 56 s) was rolling up and scoring
    # every name: no cycle scores more than the capped names. (A single slow cycle's wall time
    # says more about a busy CPU than about the flood; bench/scale.py measures cycle times.)
    scored = [int(n) for n in re.findall(r"action=detect_cycle\b.*?\boperations=(\d+)", output)]
    assert scored, output[-3000:]
    assert max(scored) <= HOURLY_CAP, scored
    assert peak < RSS_LIMIT_KB, report

"""Soak: does perfbot stay flat over a month? `--days` (default 30) simulated days of pgGit
traffic on a stepped clock, run by the bot as `perfbot run` builds it (`Bot.build`: store, jobs,
job runner, delivery worker, notifiers), with alerts delivered over HTTP to a webhook receiver
on 127.0.0.1 in this process.

What is simulated, and how it is compressed (also printed as `method`):

* traffic: `bot.demo.workload` (the demo's 33 pgGit operations) at `--rate` requests per
  operation per minute (default 20, busier by day: x0.5 at 02:00 to x1.5 at 14:00 UTC), after a
  `--history-days` week of the same traffic loaded in bulk, so that detection's and the
  baselines' lookbacks are full from day 1 (as when perfbot is pointed at an existing pgGit
  history). Raw rows go in with the store's bulk path (`store.metrics.add_rows`, COPY), up to
  each step's simulated time, before the clock reaches it, as if they had arrived live;
* incidents: 2 a day, a latency spike (x3-6) on 1-3 operations (drawn at random each time)
  for 10-20 minutes, one in each half of the day;
* jobs: at every step the clock is set and each interval job (detect, correlate, escalate) whose
  epoch-aligned slot changed since its last run is run once, cron jobs (baselines, cleanup) at
  their exact cron time, all through the real `JobRunner` (slot claim, timeout, job_runs row)
  with the bodies of `Jobs.specs()` - what APScheduler fires in `perfbot run`, without its wall
  clock. Steps are 1 s past the minute, where the scheduler fires;
* the compression: the clock does not visit every minute. It steps every minute through a window
  around each incident (3 minutes before it to 10 after it), and on `--samples` (default 12)
  other minutes a day (a random one in each 2-hour slice), each as two consecutive minutes; in
  between it jumps
  (the first cycle after a jump is a catch-up: its refresh rolls up the whole gap and it scores
  the last 10 minutes, `MAX_CATCH_UP`). Minutes no cycle visits are rolled up but never scored.
  `detect_cycle_*` are the *steady* cycles only (one interval after the previous cycle, as in
  production); catch-up cycles are reported apart;
* delivery: the app's `DeliveryWorker` runs throughout in the same event loop (woken by NOTIFY
  as in production); before each step the bench waits until the outbox has nothing due or in
  flight, so that a clock jump never expires a lease mid-send. The receiver counts every request
  by its `X-Perfbot-Delivery` id (the outbox row: one alert event for this channel).

Per simulated day: detect cycle p50/max (steady and catch-up), correlate and escalate p50, the
baselines and cleanup run (duration, status, rows), database size and the biggest tables
(`pg_total_relation_size`, live and dead rows), the process's RSS after `gc.collect()` (the
bot, this driver, the workload generator and the receiver share it), alerts and webhook
requests so far, wall time and load average. Summary figures with their targets and `met`:

* cycle_growth: last day's steady cycle p50 / day 1's (≤ 1.2);
* cleanup: the longest cleanup run (≤ 5 s, and every run succeeded; it runs hourly by default,
  `schedules.cleanup_cron`), with the most cleanup time spent in one day beside it;
* db_growth: database size at the end of the last day / at the end of day 10 (≤ 1.1; the
  reference day is min(10, days));
* rss: the least-squares line through each day's RSS from the reference day on, at the last
  day / at the reference day (≤ 1.1; single days' samples move by several %, so their ratio
  is reported beside it, with the slope in MB/day);
* exactly_once: every outbox row of the webhook channel was sent and received exactly once
  (or, for an `updated` row whose card shows nothing new, marked sent without a request, as
  the worker logs with `delivery_unchanged`: counted apart, and checked to be `updated` rows
  of an alert whose message was received before), nothing else was received, and every alert
  paged exactly once (an alert grouped under a bottleneck alert at birth has no page of its
  own).

Usage: ./dev bench soak [--days 30] [--rate 20] [--samples 12] [--database-url URL]
(a server on which a fresh database is created; else PERFBOT_BENCH_DATABASE_URL, else an
embedded server). Progress on stderr, JSON on stdout."""

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import logging
import pstats
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
from aiohttp import web
from apscheduler.triggers.cron import CronTrigger
from common import drop_database, emit, fresh_database, server

from bot.app import Bot
from bot.clock import FrozenClock
from bot.config import Settings
from bot.demo.incidents import Incident, IncidentKind
from bot.demo.operations import OPERATION_NAMES
from bot.demo.runner import rows
from bot.demo.workload import Workload
from bot.models import AlertStatus, DeliveryStatus, MergeRecord
from bot.notify.registry import close_all
from bot.scheduler import JobSpec, RunOutcome, slot_for
from bot.store import Store
from tests.fakes.webhook import WebhookReceiver

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
FIRE_OFFSET = timedelta(seconds=1)  # where the scheduler fires interval jobs past their slot
INSERT_CHUNK = timedelta(hours=2)  # raw rows are generated and copied at most this much at once
BEFORE_INCIDENT = timedelta(minutes=3)
AFTER_INCIDENT = timedelta(minutes=10)
DRAIN_WITHIN_S = 30.0
BIG_TABLES = 8  # per day, the sizes of this many biggest tables


# ---- the webhook receiver ----------------------------------------------------------------------


class CountingReceiver(WebhookReceiver):
    """The tests' webhook receiver, keeping counts instead of every request: by delivery id
    (`X-Perfbot-Delivery`, the outbox row: one alert event for this channel) and by event."""

    def __init__(self) -> None:
        super().__init__()
        self.by_delivery: Counter[str] = Counter()
        self.by_event: Counter[str] = Counter()
        self.received = 0

    async def _receive(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.received += 1
        self.by_delivery[request.headers.get("X-Perfbot-Delivery", "?")] += 1
        self.by_event[body["event"]] += 1
        return web.Response(status=200, text="ok")


# ---- the simulated month ------------------------------------------------------------------------


def plan_incidents(start: datetime, days: int, seed: int) -> tuple[Incident, ...]:
    """Two spikes a day, one in each half of the day, on 1-3 operations drawn each time."""
    rng = np.random.default_rng([seed, 14])
    plan = []
    for day in range(days):
        for half in range(2):
            ops = tuple(str(o) for o in rng.choice(OPERATION_NAMES, rng.integers(1, 4), False))
            minutes = int(rng.integers(10, 21))
            offset = int(rng.integers(30, 12 * 60 - 30 - minutes))
            begin = start + day * DAY + timedelta(hours=12 * half, minutes=offset)
            end = begin + timedelta(minutes=minutes)
            plan.append(Incident(IncidentKind.SPIKE, ops, begin, end, float(rng.uniform(3, 6))))
    return tuple(plan)


def day_steps(
    day_start: datetime,
    incidents: tuple[Incident, ...],
    samples: int,
    crons: list[JobSpec],
    seed: int,
) -> list[datetime]:
    """The moments the clock visits in [day_start, day_start + 1 day): each minute around the
    day's incidents, `samples` pairs of consecutive minutes (one pair at a random minute of each
    of `samples` equal parts of the day), and the cron jobs' fire times."""
    day_end = day_start + DAY
    minutes: set[datetime] = set()
    for incident in incidents:
        if incident.end + AFTER_INCIDENT <= day_start or incident.start >= day_end:
            continue
        moment = incident.start - BEFORE_INCIDENT
        while moment < incident.end + AFTER_INCIDENT:
            minutes.add(moment)
            moment += MINUTE
    rng = np.random.default_rng([seed, int(day_start.timestamp())])
    for i in range(samples):
        # a minute drawn at random in each of `samples` equal parts of the day
        slot = DAY / samples
        moment = day_start + i * slot + int(rng.integers(0, slot // MINUTE - 1)) * MINUTE
        minutes |= {moment, moment + MINUTE}
    steps = {m + FIRE_OFFSET for m in minutes if day_start <= m < day_end}
    for spec in crons:
        assert spec.cron is not None
        trigger = CronTrigger.from_crontab(spec.cron, timezone=UTC)
        fire = trigger.get_next_fire_time(None, day_start)
        while fire is not None and fire < day_end:
            steps.add(fire)
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return sorted(steps)


@dataclass
class Cycle:
    at: datetime
    ms: float
    steady: bool
    ok: bool


@dataclass
class DayFigures:
    cycles: list[Cycle] = field(default_factory=list)
    runs: dict[str, list[RunOutcome]] = field(default_factory=dict)
    rows: int = 0
    ingest_s: float = 0.0
    jobs_s: float = 0.0
    drain_s: float = 0.0
    drain_timeouts: int = 0


class Soak:
    def __init__(self, bot: Bot, clock: FrozenClock, workload: Workload, url: str) -> None:
        self.bot = bot
        self.clock = clock
        self.workload = workload
        self.url = url
        specs = bot.jobs.specs()
        self.interval_specs = [s for s in specs if s.every is not None]
        self.cron_specs = [s for s in specs if s.cron is not None]
        self.last_slot: dict[str, datetime] = {}
        self.last_detect: datetime | None = None
        self.inserted_to: datetime | None = None
        self.profile: cProfile.Profile | None = None

    # -- traffic --

    async def insert_until(self, moment: datetime, figures: DayFigures) -> None:
        """The raw rows and merges of [inserted_to, moment), as if they had arrived live. The
        next chunk is generated in a thread while the database copies the current one."""
        assert self.inserted_to is not None
        began = time.perf_counter()
        chunks = []
        while self.inserted_to < moment:
            upto = min(moment, self.inserted_to + INSERT_CHUNK)
            chunks.append((self.inserted_to, upto))
            self.inserted_to = upto
        ready = (
            asyncio.ensure_future(asyncio.to_thread(self._generate, *chunks[0])) if chunks else None
        )
        for i in range(len(chunks)):
            assert ready is not None
            metrics, merges = await ready
            if i + 1 < len(chunks):
                ready = asyncio.ensure_future(asyncio.to_thread(self._generate, *chunks[i + 1]))
            await self.bot.store.metrics.add_rows(metrics)
            await self.bot.store.metrics.add_merges(merges)
            figures.rows += len(metrics)
        figures.ingest_s += time.perf_counter() - began

    def _generate(
        self, start: datetime, end: datetime
    ) -> tuple[list[tuple[str, float, datetime]], list[MergeRecord]]:
        samples = self.workload.history(start, end)
        return rows(samples, 0, len(samples)), self.workload.merges(start, end)

    # -- jobs --

    async def step(self, moment: datetime, figures: DayFigures) -> None:
        """Traffic up to `moment`, the outbox drained, the clock set, then the jobs due."""
        await self.insert_until(moment, figures)
        await self.drain(figures)
        self.clock.set(moment)
        began = time.perf_counter()
        for spec in self.interval_specs:
            slot = slot_for(spec, moment)
            if self.last_slot.get(spec.name) == slot:
                continue
            self.last_slot[spec.name] = slot
            if spec.name == "detect":
                steady = self.last_detect == moment - spec.expected_gap()
                if steady and self.profile is not None:
                    self.profile.enable()
                outcome = await self.bot.runner.run(spec)
                if steady and self.profile is not None:
                    self.profile.disable()
                self.last_detect = moment
                figures.cycles.append(
                    Cycle(moment, outcome.duration_ms, steady, outcome.status == "success")
                )
            else:
                outcome = await self.bot.runner.run(spec)
            figures.runs.setdefault(spec.name, []).append(outcome)
        for spec in self.cron_specs:
            assert spec.cron is not None
            trigger = CronTrigger.from_crontab(spec.cron, timezone=UTC)
            if trigger.get_next_fire_time(None, moment) == moment:
                figures.runs.setdefault(spec.name, []).append(await self.bot.runner.run(spec))
        figures.jobs_s += time.perf_counter() - began

    async def drain(self, figures: DayFigures) -> None:
        """Wait until nothing is due or in flight in the outbox (bounded)."""
        began = time.perf_counter()
        deadline = began + DRAIN_WITHIN_S
        while True:
            due = await self.bot.store.deliveries.next_due(self.clock.now())
            stats = await self.bot.store.deliveries.stats(self.clock.now())
            if stats.sending == 0 and (due is None or due > self.clock.now()):
                break
            if time.perf_counter() > deadline:
                figures.drain_timeouts += 1
                break
            await asyncio.sleep(0.005)
        figures.drain_s += time.perf_counter() - began


# ---- measurements -----------------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident set size, MB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def table_sizes(url: str) -> tuple[int, dict[str, dict[str, float]]]:
    """Database size, and perfbot's tables biggest first: total size with indexes and TOAST (MB),
    live and dead rows (the statistics collector's counts)."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        total = await conn.fetchval("SELECT pg_database_size(current_database())")
        records = await conn.fetch(
            "SELECT relname, pg_total_relation_size(relid) AS bytes, n_live_tup, n_dead_tup"
            "  FROM pg_stat_user_tables WHERE schemaname = 'perfbot'"
            " ORDER BY bytes DESC"
        )
    finally:
        await conn.close()
    tables = {
        r["relname"]: {
            "mb": round(r["bytes"] / 2**20, 1),
            "rows": int(r["n_live_tup"]),
            "dead_rows": int(r["n_dead_tup"]),
        }
        for r in records
    }
    return int(total), tables


async def server_facts(url: str) -> dict[str, str]:
    """What of the server's configuration bears on the figures: with autovacuum off (some test
    servers), deleted rows are never reclaimed and tables bloat whatever perfbot does."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return {
            name: str(await conn.fetchval(f"SHOW {name}"))
            for name in ("server_version", "autovacuum", "shared_buffers", "synchronous_commit")
        }
    finally:
        await conn.close()


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def slope(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 2:
        return None
    xs, ys = zip(*points, strict=True)
    return float(np.polyfit(xs, ys, 1)[0])


def trend_ratio(points: list[tuple[float, float]]) -> float | None:
    """The least-squares line through (day, value) at the last day / at the first: growth
    without the day-to-day noise of single samples (RSS moves by several % a day)."""
    if len(points) < 2:
        return None
    xs, ys = zip(*points, strict=True)
    a, b = np.polyfit(xs, ys, 1)
    return float((a * xs[-1] + b) / (a * xs[0] + b))


@dataclass
class Ledger:
    """Every outbox row of the webhook channel seen so far, by id: (alert id, event, status)."""

    deliveries: dict[int, tuple[int, str, str]] = field(default_factory=dict)
    alerts: set[int] = field(default_factory=set)
    grouped: set[int] = field(default_factory=set)  # children: no message of their own

    async def update(self, store: Store, since: datetime) -> None:
        """Record the deliveries of every alert seen since `since`."""
        for alert in await store.alerts.with_status(list(AlertStatus), limit=100_000):
            if alert.last_seen < since and alert.id in self.alerts:
                continue
            self.alerts.add(alert.id)
            if alert.parent_id is not None:
                self.grouped.add(alert.id)
            for d in await store.deliveries.for_alert(alert.id):
                if d.channel == "hook":
                    self.deliveries[d.id] = (d.alert_id, d.event, d.status.value)

    def verdict(self, receiver: CountingReceiver, unchanged: set[int]) -> dict[str, Any]:
        """`unchanged`: the delivery ids the worker logged as showing nothing new (marked sent
        without a request, by design)."""
        unsent = [i for i, (_, _, s) in self.deliveries.items() if s != DeliveryStatus.SENT]
        received = {int(k): n for k, n in receiver.by_delivery.items() if k.isdigit()}
        not_received = [i for i in self.deliveries if received.get(i, 0) == 0]
        skipped = [i for i in not_received if i in unchanged]
        missing = [i for i in not_received if i not in unchanged]
        # A skip is right only for an `updated` row, sent, of an alert whose message went out
        # before it (an earlier row of the same alert received): else it hides a lost delivery.
        seen_before: dict[int, int] = {}  # alert id -> lowest received delivery id
        for i, (alert_id, _, _) in self.deliveries.items():
            if received.get(i, 0):
                seen_before[alert_id] = min(seen_before.get(alert_id, i), i)
        wrong_skips = [
            i
            for i in unchanged
            if i not in self.deliveries
            or received.get(i, 0)
            or self.deliveries[i][1] != "updated"
            or self.deliveries[i][2] != DeliveryStatus.SENT
            or seen_before.get(self.deliveries[i][0], i) >= i
        ]
        duplicated = {i: n for i, n in received.items() if n > 1}
        unknown = [i for i in received if i not in self.deliveries]
        fired_rows: Counter[int] = Counter()
        fired_received: Counter[int] = Counter()
        for i, (alert_id, event, _) in self.deliveries.items():
            if event == "fired":
                fired_rows[alert_id] += 1
                fired_received[alert_id] += received.get(i, 0)
        # Every alert pages once: one "fired" row, received once. Only an alert grouped under a
        # bottleneck alert when it was created has none (its parent's message lists it); one
        # adopted by a bottleneck later was paged before.
        not_once = sorted(
            a
            for a in self.alerts
            if fired_rows[a] > 1
            or fired_received[a] != fired_rows[a]
            or (fired_rows[a] == 0 and a not in self.grouped)
        )
        return {
            "alerts": len(self.alerts),
            "alerts_paged": sum(1 for a in self.alerts if fired_rows[a]),
            "alerts_grouped_at_birth": sum(1 for a in self.alerts if not fired_rows[a]),
            "deliveries": len(self.deliveries),
            "requests_received": receiver.received,
            "deliveries_not_sent": len(unsent),
            "deliveries_received": sum(1 for i in self.deliveries if received.get(i, 0)),
            "deliveries_unchanged_skipped": len(skipped),
            "unchanged_skips_not_updates_of_a_sent_message": sorted(wrong_skips)[:20],
            "deliveries_missing": len(missing),
            "deliveries_missing_ids": sorted(missing)[:20],
            "deliveries_received_more_than_once": len(duplicated),
            "requests_for_unknown_deliveries": len(unknown),
            "alerts_not_paged_exactly_once": not_once[:20],
            "received_by_event": dict(receiver.by_event),
            "met": not (unsent or missing or wrong_skips or duplicated or unknown or not_once),
        }


# ---- the run --------------------------------------------------------------------------------


def bot_settings(url: str, hook_url: str) -> Settings:
    """perfbot's defaults, alerts to one webhook."""
    return Settings.load(
        database_url=url,
        channels={"hook": {"type": "webhook", "url": hook_url, "secret": "soak-secret"}},
        routes=[{"name": "all", "notify": ["hook"]}],
    )


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class UnchangedLog(logging.Handler):
    """Collects the delivery ids the worker marks sent without a request because the card
    would show nothing new (`delivery_unchanged`, INFO)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ids: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if record.__dict__.get("action") == "delivery_unchanged":
            self.ids.add(int(record.__dict__["delivery_id"]))


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Warnings and errors of the bot on stderr (a job failure must be seen), not its INFO."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)


def day_record(
    day: int, f: DayFigures, sizes: tuple[int, dict[str, dict[str, float]]]
) -> dict[str, Any]:
    steady = [c.ms for c in f.cycles if c.steady]
    catch_up = [c.ms for c in f.cycles if not c.steady]

    def run_of(name: str) -> dict[str, Any] | None:
        if not f.runs.get(name):
            return None
        outcome = f.runs[name][-1]
        return {
            "ms": round(outcome.duration_ms, 1),
            "status": outcome.status.value if outcome.status else "not claimed",
            "rows": outcome.rows,
            "error": outcome.error,
        }

    def runs_of(name: str) -> dict[str, Any] | None:
        """Every run of a job that may run more than once a day (cleanup: hourly by default):
        how many, the longest, the day's total, rows, and whether every one succeeded."""
        outcomes = f.runs.get(name) or []
        if not outcomes:
            return None
        return {
            "runs": len(outcomes),
            "max_ms": round(max(o.duration_ms for o in outcomes), 1),
            "total_ms": round(sum(o.duration_ms for o in outcomes), 1),
            "rows": sum(o.rows or 0 for o in outcomes),
            "all_succeeded": all(
                o.status is not None and o.status.value == "success" for o in outcomes
            ),
            "errors": sorted({o.error for o in outcomes if o.error}),
        }

    def p50(name: str) -> float | None:
        return rounded(pct([o.duration_ms for o in f.runs.get(name, [])], 0.5))

    total, tables = sizes
    return {
        "day": day,
        "detect_cycles_steady": len(steady),
        "detect_cycle_p50_ms": rounded(pct(steady, 0.5)),
        "detect_cycle_max_ms": rounded(max(steady, default=None)),
        "detect_catch_up_cycles": len(catch_up),
        "detect_catch_up_p50_ms": rounded(pct(catch_up, 0.5)),
        "detect_failures": sum(1 for c in f.cycles if not c.ok),
        "correlate_p50_ms": p50("correlate"),
        "escalate_p50_ms": p50("escalate"),
        "baselines": run_of("baselines"),
        "cleanup": runs_of("cleanup"),
        "failed_runs": sum(
            1 for runs in f.runs.values() for o in runs if o.claimed and o.status != "success"
        ),
        "db_mb": round(total / 2**20, 1),
        "tables": dict(list(tables.items())[:BIG_TABLES]),
        "rows_inserted": f.rows,
        "rss_mb": round(rss_mb(), 1),
        "wall_s": {
            "ingest": round(f.ingest_s, 1),
            "jobs": round(f.jobs_s, 1),
            "drain": round(f.drain_s, 1),
        },
        "drain_timeouts": f.drain_timeouts,
        "_steady_ms": steady,  # for the summary; removed before printing
    }


async def soak(args: argparse.Namespace, srv: str) -> dict[str, Any]:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # In the past, so that simulated time never runs ahead of the database's own clock.
    start = today - (args.days + 1) * DAY
    history_from = start - args.history_days * DAY
    incidents = plan_incidents(start, args.days, args.seed)
    workload = Workload(seed=args.seed, rate_per_op_per_min=args.rate, incidents=incidents)
    url = await fresh_database(srv)
    facts = await server_facts(url)
    if facts["autovacuum"] != "on":
        progress("warning: autovacuum is off on this server: dead rows are never reclaimed")
    receiver = await CountingReceiver().start()
    settings = bot_settings(url, receiver.hook_url)
    store = await Store.connect(settings)
    clock = FrozenClock(history_from)
    bot = Bot.build(settings, store, clock)
    stop = asyncio.Event()
    worker: asyncio.Task[None] | None = None
    unchanged = UnchangedLog()
    worker_log = logging.getLogger("bot.delivery")
    worker_log.setLevel(logging.INFO)  # its INFO reaches only this handler (root: warnings)
    worker_log.addHandler(unchanged)
    try:
        run = Soak(bot, clock, workload, url)
        run.inserted_to = history_from
        began = time.perf_counter()
        history = DayFigures()
        await run.insert_until(start, history)
        clock.set(start)
        await bot.jobs.refresh(start)  # queues the history for the back-fill
        await bot.store.rollups.backfill()
        progress(
            f"history: {history.rows:,} rows over {args.history_days} days loaded and rolled up "
            f"in {time.perf_counter() - began:.0f} s"
        )
        worker = asyncio.create_task(bot.worker.run(stop))
        ledger = Ledger()
        days: list[dict[str, Any]] = []
        profiles: dict[int, str] = {}
        for day in range(args.days):
            day_start = start + day * DAY
            figures = DayFigures()
            if day + 1 in args.profile_days:
                run.profile = cProfile.Profile()
            wall = time.perf_counter()
            for moment in day_steps(day_start, incidents, args.samples, run.cron_specs, args.seed):
                await run.step(moment, figures)
            await run.insert_until(day_start + DAY, figures)
            await run.drain(figures)
            await ledger.update(store, day_start - timedelta(hours=12))
            if run.profile is not None:
                profiles[day + 1] = profile_text(run.profile)
                run.profile = None
            gc.collect()
            record = day_record(day + 1, figures, await table_sizes(url))
            record["wall_s"]["day"] = round(time.perf_counter() - wall, 1)
            record["load_average_1m"] = (_loadavg() or (None,))[0]
            record["alerts_so_far"] = len(ledger.alerts)
            record["webhook_requests_so_far"] = receiver.received
            days.append(record)
            progress(
                f"day {day + 1:>2}: cycle p50 {record['detect_cycle_p50_ms']} ms "
                f"max {record['detect_cycle_max_ms']} ms ({record['detect_cycles_steady']} steady), "
                f"cleanup max {(record['cleanup'] or {}).get('max_ms')} ms "
                f"total {(record['cleanup'] or {}).get('total_ms')} ms, "
                f"db {record['db_mb']} MB, rss {record['rss_mb']} MB, "
                f"{record['wall_s']}, load {record['load_average_1m']}"
            )
            progress(f"day {day + 1:>2} tables: {json.dumps(record['tables'])}")
        total_s = time.perf_counter() - began
    finally:
        stop.set()
        if worker is not None:
            await worker
        await close_all(bot.notifiers)
        await store.close()
        await receiver.stop()
        await drop_database(srv, url)
        worker_log.removeHandler(unchanged)
    verdict = ledger.verdict(receiver, unchanged.ids)
    summary = summarize(args, days, verdict, total_s, profiles, incidents)
    return {**summary, "server": facts}


def profile_text(profile: cProfile.Profile, top: int = 30) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def summarize(
    args: argparse.Namespace,
    days: list[dict[str, Any]],
    exactly_once: dict[str, Any],
    total_s: float,
    profiles: dict[int, str],
    incidents: tuple[Incident, ...],
) -> dict[str, Any]:
    first, last = days[0], days[-1]
    ref = days[min(10, len(days)) - 1]
    cycle_ratio = (
        last["detect_cycle_p50_ms"] / first["detect_cycle_p50_ms"]
        if first["detect_cycle_p50_ms"] and last["detect_cycle_p50_ms"]
        else None
    )
    # Over three days at each end, the steady cycles pooled: less at the mercy of one noisy day.
    k = min(3, len(days))
    head = [c for d in days[:k] for c in d["_steady_ms"]]
    tail = [c for d in days[-k:] for c in d["_steady_ms"]]
    head_p50, tail_p50 = pct(head, 0.5), pct(tail, 0.5)
    pooled_ratio = tail_p50 / head_p50 if head_p50 and tail_p50 else None
    for d in days:
        del d["_steady_ms"]
    cleanups = [d["cleanup"] for d in days if d["cleanup"] is not None]
    cleanup_max = max((c["max_ms"] for c in cleanups), default=None)
    cleanup_day_max = max((c["total_ms"] for c in cleanups), default=None)
    cleanup_ok = all(c["all_succeeded"] for c in cleanups) and len(cleanups) == len(days)
    rss_points = [(d["day"], d["rss_mb"]) for d in days if d["day"] >= ref["day"]]
    rss_trend = trend_ratio(rss_points)
    for day, text in profiles.items():
        progress(f"---- profile of the steady detect cycles of day {day} ----\n{text}")
    return {
        "days": args.days,
        "rate_per_op_per_min": args.rate,
        "operations": len(OPERATION_NAMES),
        "incidents": len(incidents),
        "history_days": args.history_days,
        "samples_per_day": args.samples,
        "method": (
            "Bot.build as perfbot run builds it, on a stepped FrozenClock; raw rows inserted by "
            "store.metrics.add_rows (COPY) up to each step before the clock reaches it; at each "
            "step every interval job whose slot changed and every cron job whose time it is runs "
            "once through the real JobRunner; the clock steps minute by minute from 3 min before "
            f"to 10 min after each incident and on {args.samples} pairs of consecutive minutes "
            "a day spread over the day, and jumps in between (the first cycle after a jump is a "
            "catch-up that rolls up the gap and scores its last 10 minutes; unvisited minutes "
            "are rolled up but never scored); detect_cycle_* are the steady cycles (one interval "
            "after the previous one); the DeliveryWorker runs throughout and the outbox is "
            "drained before each step; the webhook receiver counts requests by delivery id"
        ),
        "per_day": days,
        "figures": {
            "cycle_growth": {
                "day_1_p50_ms": first["detect_cycle_p50_ms"],
                "last_day_p50_ms": last["detect_cycle_p50_ms"],
                "ratio": rounded(cycle_ratio, 2),
                "target": "<= 1.2",
                "met": cycle_ratio is not None and cycle_ratio <= 1.2,
                "first_3_days_p50_ms": rounded(head_p50),
                "last_3_days_p50_ms": rounded(tail_p50),
                "ratio_3_days": rounded(pooled_ratio, 2),
            },
            "cleanup": {
                "max_ms": cleanup_max,
                "max_day_total_ms": cleanup_day_max,
                "runs": sum(c["runs"] for c in cleanups),
                "every_run_succeeded": cleanup_ok,
                "how_judged": "the longest single cleanup run (schedules.cleanup_cron, hourly by "
                "default: each run prunes about an hour's worth); max_day_total_ms is the most "
                "cleanup time spent in one simulated day",
                "target": "<= 5000 ms every run",
                "met": cleanup_ok and cleanup_max is not None and cleanup_max <= 5000,
            },
            "db_growth": {
                "reference_day": ref["day"],
                "reference_mb": ref["db_mb"],
                "last_day_mb": last["db_mb"],
                "ratio": round(last["db_mb"] / ref["db_mb"], 2),
                "target": "<= 1.1",
                "met": last["db_mb"] / ref["db_mb"] <= 1.1,
            },
            "rss": {
                "reference_day": ref["day"],
                "reference_mb": ref["rss_mb"],
                "last_day_mb": last["rss_mb"],
                "ratio": round(last["rss_mb"] / ref["rss_mb"], 2),
                "slope_mb_per_day": rounded(slope(rss_points), 2),
                "trend_ratio": rounded(rss_trend, 3),
                "how_judged": "flat when the least-squares line through the RSS at the end of "
                "each day from the reference day on is at most 1.1 x higher on the last day than "
                "on the reference day (`trend_ratio`; `ratio`, the two days' samples alone, moves "
                "with the day-to-day noise of several %); after gc.collect(), one process for "
                "the bot, the driver, the generator and the receiver",
                "target": "<= 1.1",
                "met": rss_trend is not None and rss_trend <= 1.1,
            },
            "exactly_once": exactly_once,
        },
        "wall_s": round(total_s),
        "load_average_at_end": [round(x, 2) for x in _loadavg()],
    }


def _loadavg() -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rate", type=float, default=20.0, help="requests/operation/minute")
    parser.add_argument("--samples", type=int, default=12, help="sampled minute pairs a day")
    parser.add_argument("--history-days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to create the bench's database on"
    )
    parser.add_argument(
        "--profile-days",
        type=int,
        nargs="*",
        default=[],
        help="cProfile the steady detect cycles of these days (1-based); printed on stderr",
    )
    args = parser.parse_args()
    if args.days < 1 or args.rate <= 0 or args.samples < 0 or args.history_days < 0:
        parser.error("--days must be >= 1, --rate > 0, --samples and --history-days >= 0")
    with quiet_logs():
        if args.database_url:
            figures = await soak(args, args.database_url)
        else:
            with server() as srv:
                figures = await soak(args, srv)
    emit(figures)


if __name__ == "__main__":
    asyncio.run(main())

"""`perfbot demo`: the whole product on a laptop in a minute. It starts the embedded PostgreSQL
in a fresh data directory, loads a week of synthetic pgGit history, then runs the real bot
(scheduler, detectors, routing, outbox, console channel) on an accelerated clock while feeding
live traffic with scripted incidents. Interactive runs take `/perf …` commands at a prompt;
`--no-input` runs unattended for `--duration` seconds and ends with a summary."""

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.console import Console

from bot.app import Bot
from bot.chat.console import ConsoleFrontEnd, repl
from bot.clock import ScaledClock
from bot.config import Settings
from bot.demo import script
from bot.demo.workload import Samples, Workload
from bot.models import ActorSource, Alert, AlertStatus
from bot.routing.transition import Actor
from bot.store import Store
from bot.terminal import literal

logger = logging.getLogger(__name__)

RATE_PER_OP_PER_MIN = 4.0  # a week of history is then about 1.3 million rows
HISTORY = timedelta(days=7)
CHUNK = 250_000


@dataclass(frozen=True)
class DemoOptions:
    duration: float = 60.0  # seconds of wall time (--no-input); interactive runs until EOF/quit
    speed: float = 60.0  # simulated seconds per wall second
    interactive: bool = True
    data_dir: Path | None = None
    seed: int = 7


def demo_settings(base: Settings) -> Settings:
    """The user's settings with the demo's routing: everything to the terminal, plus Slack and
    Mattermost when their settings are present; the person at the terminal (`console`) may also
    silence and resolve, which nobody may out of the box."""
    channels = {**base.channels, "terminal": {"type": "console"}}
    merged = Settings.load(
        base.config,
        channels={n: c if isinstance(c, dict) else c.model_dump() for n, c in channels.items()},
        routes=[],
    )
    everything = list(merged.all_channels())
    extra = {}
    if "http" not in base.model_fields_set:
        # Nothing needs to reach the demo's HTTP server unless the user set it up (Slack or
        # Mattermost in HTTP mode); a free port keeps the demo from failing on a busy :3000.
        extra["http"] = {"port": 0}
    permissions = base.permissions.model_dump()
    for key in ("silence", "resolve"):
        permissions[key] = list(dict.fromkeys([*permissions[key], "console"]))
    return Settings.load(
        base.config,
        channels={n: c if isinstance(c, dict) else c.model_dump() for n, c in channels.items()},
        routes=[{"name": "demo", "notify": everything}],
        alerts={"resolve_after": "15m"},
        permissions=permissions,
        **extra,
    )


async def run(options: DemoOptions, base: Settings, console: Console) -> int:
    temporary = options.data_dir is None
    root = options.data_dir or Path(tempfile.mkdtemp(prefix="perfbot-demo-"))
    settings = demo_settings(base)
    console.print(f"[bold]perfbot demo[/] — embedded PostgreSQL in {literal(root)}")
    store = await Store.open(None, root)
    try:
        await store.migrate(settings.source)
        start = datetime.now(UTC).replace(second=0, microsecond=0)
        workload = Workload(
            seed=options.seed,
            rate_per_op_per_min=RATE_PER_OP_PER_MIN,
            incidents=script.incidents(start),
        )
        await load_history(store, workload, start, console)
        return await play(store, settings, workload, start, options, console)
    finally:
        await store.close()
        if temporary:
            shutil.rmtree(root, ignore_errors=True)


async def load_history(store: Store, workload: Workload, start: datetime, console: Console) -> None:
    """A week of pgGit traffic and merges, then rollups and baselines."""
    began = time.perf_counter()
    with console.status("generating a week of pgGit history (33 operations)…"):
        samples = await asyncio.to_thread(workload.history, start - HISTORY, start)
        merges = await asyncio.to_thread(workload.merges, start - HISTORY, start)
    with console.status(f"loading {len(samples):,} metrics and {len(merges):,} merges…"):
        for lo in range(0, len(samples), CHUNK):
            await store.metrics.add_rows(rows(samples, lo, lo + CHUNK))
        await store.metrics.add_merges(merges)
    with console.status("building rollups and baselines…"):
        await store.rollups.refresh(start, initial_backfill=HISTORY + timedelta(hours=1))
        await store.rollups.backfill()
    console.print(
        f"loaded {len(samples):,} metrics and {len(merges):,} merges of history in "
        f"{time.perf_counter() - began:.1f} s"
    )


def rows(samples: Samples, lo: int, hi: int) -> list[tuple[str, float, datetime]]:
    names = samples.operations
    ops = samples.op[lo:hi]
    durations = np.round(samples.duration_ms[lo:hi], 3)
    stamps = samples.timestamp[lo:hi].astype("datetime64[ms]").astype(np.int64)
    return [
        (names[o], float(d), datetime.fromtimestamp(t / 1000, UTC))
        for o, d, t in zip(ops.tolist(), durations.tolist(), stamps.tolist(), strict=True)
    ]


async def play(
    store: Store,
    settings: Settings,
    workload: Workload,
    start: datetime,
    options: DemoOptions,
    console: Console,
) -> int:
    clock = ScaledClock(start, options.speed)
    bot = Bot.build(settings, store, clock, speed=options.speed, console=console)
    await bot.jobs.baselines(start, reason="first")
    console.print(
        f"[bold]playing the incident script[/] at {options.speed:g}× "
        f"(1 simulated minute every {60 / options.speed:.1f} s); alerts appear below with their ids"
    )
    for when, what in script.timeline(start):
        console.print(f"  T+{int((when - start).total_seconds() // 60):>2} min  {what}")
    stop = asyncio.Event()
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(bot.serve(stop, on_ready))
        tg.create_task(feed(store, workload, clock, start, stop))
        await ready.wait()
        if options.interactive:
            await interact(bot, console, stop)
        else:
            await scripted_session(bot, console, clock, start, options.duration)
        stop.set()
    await summarize(store, console, clock.now() - start)
    return 0


async def feed(
    store: Store, workload: Workload, clock: ScaledClock, start: datetime, stop: asyncio.Event
) -> None:
    """Insert each simulated minute of live traffic once the clock has passed it."""
    minute = start
    while not stop.is_set():
        now = clock.now()
        batch: list[tuple[str, float, datetime]] = []
        while minute + timedelta(minutes=1) <= now:
            samples = workload.minute(minute)
            batch += rows(samples, 0, len(samples))
            merges = workload.merges(minute, minute + timedelta(minutes=1))
            if merges:
                await store.metrics.add_merges(merges)
            minute += timedelta(minutes=1)
        if batch:
            await store.metrics.add_rows(batch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.05, 10 / clock.speed))


async def interact(bot: Bot, console: Console, stop: asyncio.Event) -> None:
    """Read `/perf …` commands until EOF or `quit`."""
    console.print(
        "type [bold]/perf help[/], [bold]/perf alerts[/], [bold]/perf ack ID[/], "
        "[bold]/perf bottlenecks[/], [bold]/perf trends commit[/], [bold]/perf merges[/] "
        "(quit or Ctrl-D ends the demo)"
    )
    await repl(bot, console)


async def scripted_session(
    bot: Bot, console: Console, clock: ScaledClock, start: datetime, duration: float
) -> None:
    """What an on-call engineer would type during the unattended demo, at simulated times:
    acknowledge the commit alert, look at the bottleneck, the commit trend and the merges."""
    end = start + timedelta(seconds=duration * clock.speed)
    front = ConsoleFrontEnd(
        bot.commands, Actor(user_name="demo", source=ActorSource.CONSOLE), _printer(console)
    )

    async def at(moment: datetime) -> bool:
        wait = (moment - clock.now()).total_seconds() / clock.speed
        if moment >= end:
            return False
        await asyncio.sleep(max(wait, 0.0))
        return True

    async def say(text: str) -> None:
        console.print(f"[bold cyan]perf> {literal(text)}[/]")
        await front.run_one(text)

    async def commit_alert() -> list[Alert]:
        return [
            a
            for a in await bot.store.alerts.with_status([AlertStatus.OPEN])
            if a.operation_types == ("commit",)
        ]

    if await at(start + timedelta(minutes=9)):
        # On a loaded machine detection can lag the script: look again each simulated minute,
        # as on-call would, until the commit alert is there (or it is time for the next step).
        commit = await commit_alert()
        moment = start + timedelta(minutes=9)
        while not commit and moment < start + timedelta(minutes=25):
            moment += timedelta(minutes=1)
            if not await at(moment):
                break
            commit = await commit_alert()
        await say("/perf alerts")
        if commit:
            await say(f"/perf ack {commit[0].id} looking into the commit spike")
    if await at(start + timedelta(minutes=30)):
        await say("/perf bottlenecks --since 1h")
    if await at(end - timedelta(minutes=3)):
        await say("/perf trends commit --days 1")
        await say("/perf merges --since 1h")
    await asyncio.sleep(max((end - clock.now()).total_seconds() / clock.speed, 0.0))


def _printer(console: Console) -> Callable[[str], None]:
    def write(text: str) -> None:
        console.print(text, markup=False, highlight=False)

    return write


async def summarize(store: Store, console: Console, simulated: timedelta) -> None:
    alerts = await store.alerts.with_status(list(AlertStatus), limit=1000)
    fired = len(alerts)
    grouped = sum(1 for a in alerts if a.parent_id is not None)
    acknowledged = sum(1 for a in alerts if a.acknowledged_by)
    resolved = sum(1 for a in alerts if a.status is AlertStatus.RESOLVED)
    console.rule("demo summary")
    console.print(f"simulated time: {int(simulated.total_seconds() // 60)} min")
    console.print(
        f"alerts fired: {fired}, grouped under a bottleneck: {grouped}, "
        f"acknowledged: {acknowledged}, resolved: {resolved}"
    )
    for alert in sorted(alerts, key=lambda a: a.id):
        parent = f" (grouped under #{alert.parent_id})" if alert.parent_id else ""
        console.print(
            f"  #{alert.id} {alert.severity.value:<8} {alert.kind.value:<11} {alert.title} — {alert.status.value}{parent}",
            markup=False,
        )

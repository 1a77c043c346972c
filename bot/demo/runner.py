"""`perfbot demo`: the whole product on a laptop in a minute. It starts the embedded PostgreSQL
in a fresh data directory, loads a week of synthetic pgGit history, then runs the real bot
(detectors, routing, outbox, console channel) on a stepped simulated clock (`bot.demo.stepper`:
the same incidents however slow the machine) while feeding live traffic with scripted
incidents. Interactive runs play the script at 10× and pause after each incident for `/perf …`
commands at a prompt (`bot.demo.interactive`); `--no-input` plays `--duration` × `--speed`
simulated seconds unattended (`bot.demo.unattended`). Both end with a summary."""

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from bot.app import Bot
from bot.clock import FrozenClock
from bot.config import Settings
from bot.demo import interactive, script, unattended
from bot.demo.workload import Samples, Workload
from bot.models import AlertStatus
from bot.store import Store
from bot.terminal import literal

logger = logging.getLogger(__name__)

RATE_PER_OP_PER_MIN = 4.0  # a week of history is then about 1.3 million rows
HISTORY = timedelta(days=7)
CHUNK = 250_000
SCRIPT = timedelta(hours=1)  # what the interactive demo plays before it just waits for commands
KEEP_OPEN = "6h"  # the interactive demo's alerts.resolve_after: beyond the script


@dataclass(frozen=True)
class DemoOptions:
    # --no-input: plays duration × speed simulated seconds (wall seconds on a fast machine);
    # interactive: plays SCRIPT, pausing after each incident, then runs until EOF/quit
    duration: float = 60.0
    speed: float = 60.0  # simulated seconds per wall second
    interactive: bool = True
    data_dir: Path | None = None
    seed: int = 7
    log_path: Path | None = None  # where the logs go (None: stderr, `--verbose`)
    start: datetime | None = None  # the simulated start (None: now, to the minute)


def demo_settings(base: Settings, *, keep_open: bool = False) -> Settings:
    """The user's settings with the demo's routing: everything to the terminal, plus Slack and
    Mattermost when their settings are present; the person at the terminal (`console`) may also
    silence and resolve, which nobody may out of the box. With `keep_open` (the interactive
    demo) alerts are not auto-resolved before the script ends."""
    channels = {**base.channels, "terminal": {"type": "console"}}
    merged = Settings.load(
        base.config,
        channels={n: c if isinstance(c, dict) else c.model_dump() for n, c in channels.items()},
        routes=[],
    )
    everything = list(merged.all_channels())
    extra: dict[str, Any] = {}
    if "http" not in base.model_fields_set:
        # Nothing needs to reach the demo's HTTP server unless the user set it up (Slack or
        # Mattermost in HTTP mode); a free port keeps the demo from failing on a busy :3000.
        extra["http"] = {"port": 0}
    permissions = base.permissions.model_dump()
    for key in ("silence", "resolve"):
        permissions[key] = list(dict.fromkeys([*permissions[key], "console"]))
    if not base.oncall.schedules:
        extra |= demo_oncall(base)
    schedule = next(iter(base.oncall.schedules), DEMO_SCHEDULE)
    # an alert nobody acknowledges pages the person on call (README "Escalation to people")
    escalation = [{"after": ESCALATE_AFTER, "notify": [f"oncall:{schedule}"]}]
    return Settings.load(
        base.config,
        channels={n: c if isinstance(c, dict) else c.model_dump() for n, c in channels.items()},
        routes=[{"name": "demo", "notify": everything, "escalation": escalation}],
        alerts={"resolve_after": KEEP_OPEN if keep_open else "15m"},
        permissions=permissions,
        **extra,
    )


DEMO_SCHEDULE = "demo"
ESCALATE_AFTER = "5m"
DEMO_PEOPLE = {
    "ada": {"name": "Ada Lovelace", "email": "ada@example.invalid"},
    "grace": {"name": "Grace Hopper", "email": "grace@example.invalid"},
}


def demo_oncall(base: Settings) -> dict[str, Any]:
    """A daily rotation (`/perf oncall demo`) over the user's `people:`, or two demo people."""
    people = list(base.people) or list(DEMO_PEOPLE)
    layer = {"rotation": "daily", "start": "2026-01-01", "participants": people}
    schedule = {"timezone": "UTC", "layers": [layer]}
    extra: dict[str, Any] = {"oncall": {"schedules": {DEMO_SCHEDULE: schedule}}}
    if not base.people:
        extra["people"] = DEMO_PEOPLE
    return extra


async def run(options: DemoOptions, base: Settings, console: Console) -> int:
    temporary = options.data_dir is None
    root = options.data_dir or Path(tempfile.mkdtemp(prefix="perfbot-demo-"))
    settings = demo_settings(base, keep_open=options.interactive)
    console.print(f"[bold]perfbot demo[/] — embedded PostgreSQL in {literal(root)}")
    if options.log_path is not None:
        console.print(f"logs: {literal(options.log_path)} (--verbose shows them here)")
    store = await Store.open(None, root)
    try:
        await store.migrate(settings.source)
        start = options.start or datetime.now(UTC).replace(second=0, microsecond=0)
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
    lines: AsyncIterator[str] | None = None,
) -> int:
    """The real bot on a stepped simulated clock, its jobs run by the demo rather than the
    scheduler; interactive (commands from `lines`, default the terminal) or unattended."""
    clock = FrozenClock(start)
    bot = Bot.build(settings, store, clock, speed=options.speed, console=console)
    await bot.jobs.baselines(start, reason="first")
    pace = f"{options.speed:g}× (1 simulated minute every {60 / options.speed:.1f} s)"
    if options.interactive:
        pace += ", pausing after each incident"
    else:
        pace += ", each minute's detection finished before the clock moves on"
    console.print(
        f"[bold]playing the incident script[/] at {pace}; alerts appear below with their ids"
    )
    timeline = script.timeline(start)
    for when, what in timeline:
        console.print(f"  T+{int((when - start).total_seconds() // 60):>2} min  {what}")
    stop = asyncio.Event()
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    async def add_minute(minute: datetime) -> None:
        await store_minute(store, workload, minute)

    async with asyncio.TaskGroup() as tg:
        tg.create_task(bot.serve(stop, on_ready, schedule=False))
        await ready.wait()
        try:
            if options.interactive:
                whens = [when for when, _ in timeline]
                await interactive.play(
                    bot,
                    clock,
                    start,
                    start + SCRIPT,
                    options.speed,
                    add_minute,
                    console,
                    whens,
                    lines,
                )
            else:
                end = start + timedelta(seconds=options.duration * options.speed)
                await unattended.play(bot, clock, start, end, options.speed, add_minute, console)
        finally:
            stop.set()
    await summarize(store, console, clock.now() - start)
    return 0


async def store_minute(store: Store, workload: Workload, minute: datetime) -> None:
    """The live traffic and merges of the simulated minute starting at `minute`."""
    samples = workload.minute(minute)
    merges = workload.merges(minute, minute + timedelta(minutes=1))
    if merges:
        await store.metrics.add_merges(merges)
    await store.metrics.add_rows(rows(samples, 0, len(samples)))


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

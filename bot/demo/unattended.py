"""`perfbot demo --no-input`: the incident script on a stepped simulated clock, so that every run
shows the same incidents however slow or busy the machine is.

The clock moves in steps of the shortest job interval (the escalation's 15 s), each a little
after a slot boundary (`detection.settle`, so that the detection cycle just after a minute
scores that minute). Before the clock moves on: the live traffic of every simulated minute it
has passed is stored, the interval jobs whose slot began run once each in schedule order
(detect, correlate, escalate; cron jobs mean nothing in a one-hour demo), the alert cards they
queued are delivered, and the commands on-call types at that moment run. Steps are paced to
`speed` (one simulated minute a second at 60×) but never skipped: a slow machine takes longer
and shows the same thing."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from rich.console import Console

from bot.app import Bot
from bot.chat.console import ConsoleFrontEnd
from bot.clock import FrozenClock
from bot.models import ActorSource, Alert, AlertStatus
from bot.routing.transition import Actor
from bot.scheduler import slot_for
from bot.terminal import literal

logger = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
DELIVERY_WAIT_S = 30.0  # wall seconds a step waits for its cards before going on regardless
DELIVERY_POLL_S = 0.02
ACK_AT = timedelta(minutes=9)  # on-call looks at the alerts…
ACK_UNTIL = timedelta(minutes=25)  # …and each step after, until the commit alert is there
BOTTLENECKS_AT = timedelta(minutes=30)
CLOSING_BEFORE_END = timedelta(minutes=3)

FeedMinute = Callable[[datetime], Awaitable[None]]
"""Stores the live traffic of the simulated minute starting at the given time."""


async def play(
    bot: Bot,
    clock: FrozenClock,
    start: datetime,
    end: datetime,
    speed: float,
    feed: FeedMinute,
    console: Console,
) -> None:
    """Step `clock` from `start` to `end`, running the jobs, deliveries and on-call commands of
    each step before the next (see the module docstring)."""
    specs = [spec for spec in bot.jobs.specs() if spec.every is not None]
    step = min(spec.every for spec in specs if spec.every is not None)
    on_call = OnCall(bot, console, start, end)
    last_slot: dict[str, datetime] = {}
    fed = start
    began = time.monotonic()
    moment = start + bot.settings.detection.settle
    while moment < end:
        clock.set(moment)
        while fed + MINUTE <= moment:
            await feed(fed)
            fed += MINUTE
        for spec in specs:
            slot = slot_for(spec, moment)
            if last_slot.get(spec.name) != slot:
                last_slot[spec.name] = slot
                await bot.runner.run(spec, slot=slot)
        await delivered(bot, moment)
        if await on_call.act(moment):
            await delivered(bot, moment)
        # Pacing only: never ahead of `speed`; behind it, the next step simply starts at once.
        ahead = began + (moment - start).total_seconds() / speed - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)
        moment += step
    clock.set(end)


async def delivered(bot: Bot, now: datetime) -> None:
    """Wait until no card is being sent or due at `now` (one that failed and retries later in
    simulated time is not waited for), at most DELIVERY_WAIT_S."""
    deliveries = bot.store.deliveries
    try:
        async with asyncio.timeout(DELIVERY_WAIT_S):
            while True:
                stats = await deliveries.stats(now)
                due = await deliveries.next_due(now)
                if stats.sending == 0 and (due is None or due > now):
                    return
                await asyncio.sleep(DELIVERY_POLL_S)
    except TimeoutError:
        logger.warning(
            "demo cards still unsent; going on",
            extra={"action": "demo_delivery_slow", "at": now.isoformat()},
        )


class OnCall:
    """What an on-call engineer types during the unattended demo, at simulated times: look at
    the alerts and who is on call, and acknowledge the commit alert, look at the bottleneck, then the commit trend
    and the merges shortly before the end. Nothing scheduled at or after `end` is typed."""

    def __init__(self, bot: Bot, console: Console, start: datetime, end: datetime) -> None:
        self._bot = bot
        self._console = console
        self._start = start
        self._front = ConsoleFrontEnd(
            bot.commands, Actor(user_name="demo", source=ActorSource.CONSOLE), self._write
        )
        steps: list[tuple[datetime, Callable[[datetime], Awaitable[bool]]]] = [
            (start + ACK_AT, self._acknowledge),
            (start + BOTTLENECKS_AT, self._bottlenecks),
            (end - CLOSING_BEFORE_END, self._closing),
        ]
        self._steps = [(at, action) for at, action in steps if at < end]

    async def act(self, now: datetime) -> bool:
        """Type what is due at `now`; True if anything was typed."""
        typed = False
        while self._steps and self._steps[0][0] <= now:
            _, action = self._steps[0]
            if not await action(now):
                break  # not yet: try again at the next step
            self._steps.pop(0)
            typed = True
        return typed

    async def _acknowledge(self, now: datetime) -> bool:
        commit = await self._commit_alerts()
        if not commit and now < self._start + ACK_UNTIL:
            return False
        await self._say("/perf alerts")
        await self._say("/perf oncall")
        if commit:
            await self._say(f"/perf ack {commit[0].id} looking into the commit spike")
        return True

    async def _bottlenecks(self, now: datetime) -> bool:
        await self._say("/perf bottlenecks --since 1h")
        return True

    async def _closing(self, now: datetime) -> bool:
        await self._say("/perf trends commit --days 1")
        await self._say("/perf merges --since 1h")
        return True

    async def _commit_alerts(self) -> list[Alert]:
        return [
            a
            for a in await self._bot.store.alerts.with_status([AlertStatus.OPEN])
            if a.operation_types == ("commit",)
        ]

    async def _say(self, text: str) -> None:
        self._console.print(f"[bold cyan]perf> {literal(text)}[/]")
        await self._front.run_one(text)

    def _write(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False)

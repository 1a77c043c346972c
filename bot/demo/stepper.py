"""The demo's stepped simulated clock, shared by the unattended and the interactive demo.

The clock moves in steps of the shortest job interval (the escalation's 15 s), each a little
after a slot boundary (`detection.settle`, so that the detection cycle just after a minute
scores that minute). Before the clock moves on: the live traffic of every simulated minute it
has passed is stored, the interval jobs whose slot began run once each in schedule order
(detect, correlate, escalate; cron jobs mean nothing in a one-hour demo), the alert cards they
queued are delivered, and the caller's `after_step` runs (the commands on-call types then).
Steps are paced to `speed` (one simulated minute a second at 60×) but never skipped: a slow
machine takes longer and shows the same thing."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.app import Bot
from bot.clock import FrozenClock
from bot.scheduler import slot_for

logger = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
DELIVERY_WAIT_S = 30.0  # wall seconds a step waits for its cards before going on regardless
DELIVERY_POLL_S = 0.02

FeedMinute = Callable[[datetime], Awaitable[None]]
"""Stores the live traffic of the simulated minute starting at the given time."""
AfterStep = Callable[[datetime], Awaitable[None]]


class Stepper:
    def __init__(
        self, bot: Bot, clock: FrozenClock, start: datetime, speed: float, feed: FeedMinute
    ) -> None:
        self._bot = bot
        self._clock = clock
        self._start = start
        self._speed = speed
        self._feed = feed
        self._specs = [spec for spec in bot.jobs.specs() if spec.every is not None]
        self._step = min(spec.every for spec in self._specs if spec.every is not None)
        self._last_slot: dict[str, datetime] = {}
        self._fed = start
        self._moment = start + bot.settings.detection.settle

    async def advance(self, until: datetime, after_step: AfterStep | None = None) -> None:
        """Play every step before `until`, paced from now on (a pause before this call does
        not make the next steps rush to catch up)."""
        began, first = time.monotonic(), self._moment
        while self._moment < until:
            moment = self._moment
            self._clock.set(moment)
            while self._fed + MINUTE <= moment:
                await self._feed(self._fed)
                self._fed += MINUTE
            for spec in self._specs:
                slot = slot_for(spec, moment)
                if self._last_slot.get(spec.name) != slot:
                    self._last_slot[spec.name] = slot
                    await self._bot.runner.run(spec, slot=slot)
            await delivered(self._bot, moment)
            if after_step is not None:
                await after_step(moment)
            # Pacing only: never ahead of `speed`; behind it, the next step starts at once.
            ahead = began + (moment - first).total_seconds() / self._speed - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
            self._moment = moment + self._step


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

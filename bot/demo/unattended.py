"""`perfbot demo --no-input`: the incident script on a stepped simulated clock
(`bot.demo.stepper`), so that every run shows the same incidents however slow or busy the
machine is; after each step, the commands on-call types at that moment run."""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from rich.console import Console

from bot.app import Bot
from bot.chat.console import ConsoleFrontEnd
from bot.clock import FrozenClock
from bot.demo.stepper import FeedMinute, Stepper, delivered
from bot.models import ActorSource, Alert, AlertStatus
from bot.routing.transition import Actor
from bot.terminal import literal

ACK_AT = timedelta(minutes=9)  # on-call looks at the alerts…
ACK_UNTIL = timedelta(minutes=25)  # …and each step after, until the commit alert is there
BOTTLENECKS_AT = timedelta(minutes=30)
CLOSING_BEFORE_END = timedelta(minutes=3)


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
    each step before the next (see `bot.demo.stepper`)."""
    on_call = OnCall(bot, console, start, end)

    async def type_commands(moment: datetime) -> None:
        if await on_call.act(moment):
            await delivered(bot, moment)

    await Stepper(bot, clock, start, speed, feed).advance(end, type_commands)
    clock.set(end)


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

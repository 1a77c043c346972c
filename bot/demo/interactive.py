"""`perfbot demo` at a person's pace: the incident script plays on the stepped clock
(`bot.demo.stepper`, 10× by default) and pauses a few simulated minutes after each incident
begins, once its alert cards are out. While paused the clock stands still and the `perf>`
prompt takes `/perf …` commands; an empty line (Enter) plays on to the next pause. At the end
of the script the prompt stays until `quit` or EOF. Alerts stay open until the end (the demo
sets `alerts.resolve_after` beyond the script), so every id on a card can still be acted on.

Lines are read only while the demo is paused: whatever is typed during play waits for the
next pause, so a scripted stdin gives the same session on any machine."""

import asyncio
import sys
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta

from rich.console import Console

from bot.app import Bot
from bot.chat.console import QUIT, ConsoleFrontEnd, local_user, stdin_lines
from bot.clock import FrozenClock
from bot.demo.stepper import FeedMinute, Stepper

SHOW = timedelta(minutes=4)  # after an incident begins: time for its alerts to fire and show


def pauses(start: datetime, end: datetime, timeline: Iterable[datetime]) -> list[datetime]:
    """Where the play stops for the person: SHOW after each incident begins, and `end`."""
    points = {min(when + SHOW, end) for when in timeline} | {end}
    return sorted(p for p in points if start < p <= end)


async def play(
    bot: Bot,
    clock: FrozenClock,
    start: datetime,
    end: datetime,
    speed: float,
    feed: FeedMinute,
    console: Console,
    timeline: Iterable[datetime],
    lines: AsyncIterator[str] | None = None,
) -> None:
    """Play to each pause in turn, taking commands from `lines` (default: the terminal) while
    paused, until the lines end or one says quit."""
    stepper = Stepper(bot, clock, start, speed, feed)
    paused, play_on, ended = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def player() -> None:
        for at in pauses(start, end, timeline):
            await stepper.advance(at)
            minute = int((at - start).total_seconds() // 60)
            if at >= end:
                ended.set()
                console.print(
                    f"[bold]T+{minute} min: end of the script.[/] The alerts stay open: type "
                    "commands; quit or Ctrl-D ends the demo."
                )
            else:
                console.print(
                    f"[bold]T+{minute} min: paused.[/] Type commands "
                    "(/perf alerts, /perf ack ID, …), or press Enter to play on."
                )
            paused.set()
            if at >= end:
                return
            await play_on.wait()
            play_on.clear()

    echo = lines is not None or not sys.stdin.isatty()
    source = lines if lines is not None else stdin_lines()
    async with asyncio.TaskGroup() as tg:
        playing = tg.create_task(player())
        try:
            await prompt(bot, console, source, paused, play_on, ended, echo=echo)
        finally:
            playing.cancel()


async def prompt(
    bot: Bot,
    console: Console,
    lines: AsyncIterator[str],
    paused: asyncio.Event,
    play_on: asyncio.Event,
    ended: asyncio.Event,
    *,
    echo: bool,
) -> None:
    """Run the lines read while paused; an empty line releases the player to the next pause."""

    def write(text: str) -> None:
        console.print(text, markup=False, highlight=False)

    front = ConsoleFrontEnd(bot.commands, local_user(), write)
    while True:
        await paused.wait()
        try:
            line = await anext(lines)
        except StopAsyncIteration:
            return
        text = line.strip()
        if not text:
            if not ended.is_set():
                paused.clear()
                play_on.set()
            continue
        if text.lower() in QUIT:
            return
        if echo:
            write(f"perf> {text}")
        await front.run_one(text)

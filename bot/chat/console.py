"""The console front end: `perfbot chat "/perf …"` runs one command as the local user and
prints the reply (exit status 1 when the command was refused or failed); `perfbot chat` with
no command reads commands line by line until EOF or `quit`; `repl` is that prompt for the
demo, against its running bot."""

import asyncio
import getpass
import os
import stat
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from rich.console import Console

from bot.alerts import AlertService
from bot.chat import console_reply
from bot.clock import Clock, SystemClock
from bot.commands import Commands, build_registry
from bot.config import Settings
from bot.jobs import Jobs
from bot.models import ActorSource
from bot.notify.probe import ChannelTester
from bot.routing.transition import Actor
from bot.store import Store

if TYPE_CHECKING:
    from bot.app import Bot

PROMPT = "perf> "
QUIT = {"quit", "exit", "q"}


def local_user() -> Actor:
    """The person at the terminal, by login name."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "console"
    return Actor(user_name=name, source=ActorSource.CONSOLE)


class ConsoleFrontEnd:
    def __init__(self, commands: Commands, user: Actor, write: Callable[[str], None]) -> None:
        self._commands = commands
        self._user = user
        self._write = write

    async def run_one(self, text: str) -> bool:
        """Run one command and print its reply; False when it was refused or failed."""
        reply = await self._commands.run(text, self._user)
        self._write(console_reply.render(reply))
        return not reply.error

    async def repl(self, lines: AsyncIterator[str]) -> int:
        """Run each line as a command until the lines end or one says quit; returns how many
        commands failed."""
        failed = 0
        async for line in lines:
            text = line.strip()
            if not text:
                continue
            if text.lower() in QUIT:
                break
            if not await self.run_one(text):
                failed += 1
        return failed


async def stdin_lines(prompt: str = PROMPT) -> AsyncIterator[str]:
    """Lines typed at the terminal (a prompt first when it is one) until EOF. A terminal or a
    pipe is read without blocking the loop (Ctrl-C ends at once); a redirected file or device
    (`< /dev/null`), which cannot block, is read in a worker thread."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    tty = sys.stdin.isatty()
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if not (tty or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        # A regular file or a device such as /dev/null: it never blocks, and epoll refuses it.
        while line := await asyncio.to_thread(sys.stdin.readline):
            yield line
        return
    # a duplicate descriptor: the transport closes its file at EOF, sys.stdin stays open
    pipe = os.fdopen(os.dup(sys.stdin.fileno()), "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while True:
            if tty:
                sys.stdout.write(prompt)
                sys.stdout.flush()
            data = await reader.readline()
            if not data:
                return
            yield data.decode(errors="replace")
    finally:
        transport.close()


def commands_for(store: Store, settings: Settings, clock: Clock) -> Commands:
    alerts = AlertService(store, settings, clock)
    schedule = {s.name: s.expected_gap() for s in Jobs(store, settings, alerts).specs()}
    return Commands(
        store,
        alerts,
        settings,
        clock,
        schedule,
        registry=build_registry(),
        channels=ChannelTester(settings, clock.now),
    )


async def repl(bot: "Bot", console: Console, lines: AsyncIterator[str] | None = None) -> None:
    """The demo's prompt: `/perf …` commands (from `lines`, default the terminal) against a
    running bot, as the local user, until EOF or quit; replies print on `console`."""

    def write(text: str) -> None:
        console.print(text, markup=False, highlight=False)

    front = ConsoleFrontEnd(bot.commands, local_user(), write)
    await front.repl(lines if lines is not None else stdin_lines())


async def main(
    settings: Settings, store: Store, text: str | None, write: Callable[[str], None]
) -> int:
    """`perfbot chat [TEXT]`: the exit status (0 ok, 1 the command or a REPL line failed)."""
    front = ConsoleFrontEnd(commands_for(store, settings, SystemClock()), local_user(), write)
    if text is not None:
        return 0 if await front.run_one(text) else 1
    return 1 if await front.repl(stdin_lines()) else 0

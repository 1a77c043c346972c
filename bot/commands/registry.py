"""The `/perf` command registry, shared by every front end. Each command module declares its
commands with `@command(...)` (each returns a `Reply`) and adds them in its `register(registry)`;
`bot.commands.catalog.build_registry` builds the registry of them all. `dispatch` turns any text
into a reply and never raises: bad arguments, unknown commands and ids become a clear, user-safe
`CommandError` text (with the usage where it helps), and anything unexpected is logged with its
traceback while the user sees a generic line."""

import asyncio
import difflib
import logging
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot import errors
from bot.commands.context import CommandContext
from bot.commands.reply import Paragraph, Reply

logger = logging.getLogger(__name__)

PREFIX = "/perf"
MAX_TEXT = 4000
COMMAND_TIMEOUT_S = 20.0
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})

Handler = Callable[[CommandContext, list[str]], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    """`name` may be two words (`route test`); `usage` is the argument syntax after `/perf`;
    `mutating` commands change state, so their replies go to the whole channel."""

    name: str
    usage: str
    summary: str
    handler: Handler
    mutating: bool = False
    details: str = ""
    aliases: tuple[str, ...] = ()

    def help_reply(self) -> Reply:
        blocks = [Paragraph(f"{PREFIX} {self.usage}", mono=True)]
        if self.details:
            blocks.append(Paragraph(self.details))
        return Reply(text=f"{self.name}: {self.summary}", blocks=tuple(blocks))


def split(text: str) -> list[str]:
    """The words of `text`, shell-style (quotes group words; chat apps' curly quotes count as
    quotes), without a leading `/perf`. Unbalanced quotes fall back to splitting on spaces."""
    cleaned = text.translate(_QUOTES).strip()
    try:
        words = shlex.split(cleaned)
    except ValueError:
        words = cleaned.split()
    if words and words[0].lower() == PREFIX:
        words = words[1:]
    return words


def command(
    name: str,
    usage: str,
    summary: str,
    *,
    mutating: bool = False,
    details: str = "",
    aliases: tuple[str, ...] = (),
) -> Callable[[Handler], Command]:
    """Declare the decorated coroutine as `/perf <name>`; a module's `register` adds it."""

    def declare(handler: Handler) -> Command:
        return Command(name, usage, summary, handler, mutating, details, tuple(aliases))

    return declare


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._aliases: dict[str, str] = {}

    def add(self, *commands: Command) -> None:
        """Register each of `commands`, in order; a name or alias taken twice is a ValueError."""
        for declared in commands:
            for key in (declared.name, *declared.aliases):
                if key in self._commands or key in self._aliases:
                    raise ValueError(f"command {key!r} is registered twice")
            self._commands[declared.name] = declared
            for alias in declared.aliases:
                self._aliases[alias] = declared.name

    def command(
        self,
        name: str,
        usage: str,
        summary: str,
        *,
        mutating: bool = False,
        details: str = "",
        aliases: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Register the decorated coroutine as `/perf <name>`."""

        def register(handler: Handler) -> Handler:
            self.add(
                command(name, usage, summary, mutating=mutating, details=details, aliases=aliases)(
                    handler
                )
            )
            return handler

        return register

    @property
    def commands(self) -> list[Command]:
        """Every command, in registration order."""
        return list(self._commands.values())

    def get(self, name: str) -> Command | None:
        key = name.strip().lower()
        key = self._aliases.get(key, key)
        return self._commands.get(key)

    def lookup(self, words: list[str]) -> tuple[Command, list[str]]:
        """The command `words` start with and its arguments; raises UnknownCommand with close
        names, or BadArguments for the first word of a two-word command alone."""
        first = words[0].lower()
        if len(words) > 1:
            found = self.get(f"{first} {words[1].lower()}")
            if found is not None:
                return found, words[2:]
        found = self.get(first)
        if found is not None:
            return found, words[1:]
        longer = [c for c in self._commands.values() if c.name.startswith(first + " ")]
        if longer:
            usages = "; ".join(f"{PREFIX} {c.usage}" for c in longer)
            raise errors.BadArguments(f"{first} needs a subcommand: {usages}")
        raise errors.UnknownCommand(self._unknown(words[0]))

    def _unknown(self, word: str) -> str:
        names = [*self._commands, *self._aliases]
        close = difflib.get_close_matches(word.lower(), names, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        shown = word if len(word) <= 40 else word[:39] + "…"
        return f"unknown command {shown!r}.{hint} Try {PREFIX} help."

    def is_mutating(self, text: str) -> bool:
        words = split(text)
        if not words:
            return False
        try:
            command, _ = self.lookup(words)
        except errors.CommandError:
            return False
        return command.mutating

    async def dispatch(self, text: str, ctx: CommandContext) -> Reply:
        """The reply to `text` for `ctx.user`; never raises except on cancellation."""
        started = time.perf_counter()
        command: Command | None = None
        outcome = "ok"
        try:
            if len(text) > MAX_TEXT:
                raise errors.BadArguments(f"that command is too long (over {MAX_TEXT} characters)")
            words = split(text)
            if not words:
                words = ["help"]
            command, args = self.lookup(words)
            if any(a in ("--help", "-h") for a in args):
                return command.help_reply()
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                reply = await command.handler(ctx, args)
            return replace(reply, in_channel=command.mutating and not reply.error)
        except errors.BadArguments as exc:
            outcome = "bad_arguments"
            usage = (Paragraph(f"usage: {PREFIX} {command.usage}", mono=True),) if command else ()
            return Reply(text=exc.message, blocks=usage, error=True)
        except errors.CommandError as exc:
            outcome = type(exc).__name__
            return _error(exc.message)
        except TimeoutError:
            outcome = "timeout"
            logger.warning(
                "command timed out", extra={"action": "command_timeout", "command": _name(command)}
            )
            return _error(f"that took longer than {COMMAND_TIMEOUT_S:.0f} s; try a shorter window")
        except errors.DatabaseUnavailable:
            outcome = "database_unavailable"
            return _error("perfbot cannot reach its database right now; try again shortly")
        except errors.QueryTimeout:
            outcome = "database_slow"
            logger.warning(
                "command query too slow",
                extra={"action": "command_db_slow", "command": _name(command)},
            )
            return _error("perfbot's database is answering too slowly right now; try again shortly")
        except errors.StoreError as exc:
            outcome = "store_error"
            return _error(exc.message)
        except Exception:
            outcome = "crashed"
            logger.exception(
                "command failed", extra={"action": "command_failed", "command": _name(command)}
            )
            return _error(
                "Sorry, that command failed unexpectedly; the details are in perfbot's log."
            )
        finally:
            logger.info(
                "command",
                extra={
                    "action": "command_run",
                    "command": _name(command),
                    "user": ctx.user.label,
                    "source": ctx.user.source.value,
                    "outcome": outcome,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )


def _error(message: str) -> Reply:
    return Reply(text=message, error=True)


def _name(command: Command | None) -> str:
    return command.name if command is not None else "-"

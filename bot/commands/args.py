"""Reading command arguments: `--name value` options, windows (`24h`, `7d`), severities, ids
and operation names. Every problem raises `BadArguments` or `UnknownOperation` with a message
that says what was expected, so the user can correct the command."""

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot import errors
from bot.commands.context import CommandContext
from bot.durations import format_duration, parse_duration
from bot.models import Severity

MAX_ID = 2**63 - 1
SUGGEST_FROM = 500  # known names a suggestion is chosen from
PREFIXES = (8, 4, 2, 1)


@dataclass(frozen=True)
class Parsed:
    positional: list[str]
    options: dict[str, Any] = field(default_factory=dict)


def parse(
    args: list[str],
    options: Mapping[str, Callable[[str], Any]] | None = None,
    *,
    max_positional: int | None = None,
) -> Parsed:
    """Split `args` into positional words and `--name value` (or `--name=value`) options, each
    converted by its function in `options`. Raises BadArguments for an unknown option, a
    missing value or too many words."""
    known = dict(options or {})
    positional: list[str] = []
    values: dict[str, Any] = {}
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("--") and len(word) > 2:
            name, has_value, value = word[2:].partition("=")
            convert = known.get(name.lower())
            if convert is None:
                offered = ", ".join(f"--{n}" for n in known) or "no options"
                raise errors.BadArguments(
                    f"unknown option {_short(word)}; this command takes {offered}"
                )
            if not has_value:
                if i + 1 >= len(args):
                    raise errors.BadArguments(f"--{name} needs a value")
                i += 1
                value = args[i]
            values[name.lower()] = convert(value)
        else:
            positional.append(word)
        i += 1
    if max_positional is not None and len(positional) > max_positional:
        extra = " ".join(positional[max_positional:])
        raise errors.BadArguments(f"unexpected {_short(extra)!r}")
    return Parsed(positional, values)


def window(text: str, *, longest: timedelta = timedelta(days=30)) -> timedelta:
    """A look-back window such as `30m`, `24h` or `7d`, positive and at most `longest`."""
    try:
        value = parse_duration(text)
    except ValueError:
        raise errors.BadArguments(
            f"{_short(text)!r} is not a duration; use e.g. 30m, 24h or 7d"
        ) from None
    if value <= timedelta(0):
        raise errors.BadArguments("the window must be longer than zero")
    if value > longest:
        raise errors.BadArguments(f"the window can be at most {format_duration(longest)}")
    return value


def severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError:
        raise errors.BadArguments(
            f"unknown severity {_short(text)!r}; use critical, warning or info"
        ) from None


def whole_number(text: str, *, low: int, high: int, what: str) -> int:
    digits = text.strip()
    if not _is_number(digits) or not low <= int(digits) <= high:
        raise errors.BadArguments(f"{what} must be a whole number from {low} to {high}")
    return int(digits)


def alert_id(text: str, what: str = "an alert") -> int:
    """`42` or `#42`."""
    digits = text.strip().removeprefix("#")
    if not _is_number(digits) or not 0 < int(digits) <= MAX_ID:
        raise errors.BadArguments(f"{_short(text)!r} is not {what} id like 42")
    return int(digits)


async def operation(ctx: CommandContext, name: str) -> str:
    """`name` as perfbot knows it (matched case-insensitively, through an index); raises
    UnknownOperation with the closest known names."""
    found = await ctx.store.operations.named(name)
    if found is None:
        raise errors.UnknownOperation(await unknown_operation_text(ctx, name))
    return found


async def unknown_operation_text(ctx: CommandContext, name: str) -> str:
    """Why `name` is not an operation, with the closest known names: those sharing its first
    8, 4, 2 or 1 letters (at most SUGGEST_FROM of them each, read through an index, so a typo
    costs the same with 10,000 operations as with 30), else a few known names."""
    for length in PREFIXES:  # the longest shared prefix narrows thousands of names down
        if len(name) > length or length == 1:
            candidates = await ctx.store.operations.with_prefix(name[:length], SUGGEST_FROM)
            close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
            if close:
                return f"unknown operation {_short(name)!r}; did you mean {' or '.join(close)}?"
    known = await ctx.store.operations.first(9)
    if not known:
        return f"perfbot has no data for {_short(name)!r} (nor for any operation yet)"
    listed = ", ".join(known[:8]) + (", …" if len(known) > 8 else "")
    return f"unknown operation {_short(name)!r}; known operations include: {listed}"


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 19


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""How command replies write numbers and times: milliseconds with sensible precision, UTC
timestamps, "5m ago", signed percentages and block-character sparklines."""

import math
from datetime import UTC, datetime, timedelta

from bot.durations import format_duration
from bot.humanize import ms, plural, spark

__all__ = ["ago", "ms", "number", "pct", "plural", "span", "spark", "stamp", "when"]


def when(moment: datetime | None) -> str:
    """`11-27 10:05` (UTC); `–` when unknown."""
    return "–" if moment is None else moment.astimezone(UTC).strftime("%m-%d %H:%M")


def stamp(moment: datetime) -> str:
    """`2026-11-27 10:05 UTC`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(moment: datetime | None, now: datetime) -> str:
    """`45s ago`, `5m ago`, `3h ago`, `2d ago`; `in 5m` for the future; `never` for None."""
    if moment is None:
        return "never"
    delta = now - moment
    future = delta < timedelta(0)
    seconds = abs(delta.total_seconds())
    if seconds < 60:
        text = f"{seconds:.0f}s"
    elif seconds < 3600:
        text = f"{seconds // 60:.0f}m"
    elif seconds < 86400 * 2:
        text = f"{seconds // 3600:.0f}h"
    else:
        text = f"{seconds // 86400:.0f}d"
    return f"in {text}" if future else f"{text} ago"


def span(delta: timedelta) -> str:
    """A window as people say it: `30m`, `6h`, `24h`, `36h`, `7d`."""
    seconds = delta.total_seconds()
    if seconds < 2 * 86400 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f}h"
    return format_duration(delta)


def pct(value: float | None, *, signed: bool = True) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.0f}%" if signed else f"{value:.0f}%"


def number(value: float | None, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"

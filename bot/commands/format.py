"""How command replies write numbers and times: milliseconds with sensible precision, UTC
timestamps, "5m ago", signed percentages and block-character sparklines."""

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.durations import format_duration

SPARK_CHARS = "▁▂▃▄▅▆▇█"


def ms(value: float | None) -> str:
    """`0.42 ms`, `8.5 ms`, `812 ms`, `1.23 s`; `–` when unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


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


def spark(values: Sequence[float], width: int = 48) -> str | None:
    """Finite `values` scaled between their minimum and maximum onto ▁…█ and squeezed to at
    most `width` characters (each the worst of its slice); None when nothing is finite."""
    points = [v for v in values if math.isfinite(v)]
    if not points:
        return None
    if len(points) > width:
        step = len(points) / width
        points = [max(points[int(i * step) : int((i + 1) * step)]) for i in range(width)]
    low, high = min(points), max(points)
    top = len(SPARK_CHARS) - 1
    if high == low:
        return SPARK_CHARS[0] * len(points)
    return "".join(SPARK_CHARS[round((v - low) / (high - low) * top)] for v in points)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"

"""How perfbot writes numbers for people, the same in chat replies, alert messages and the
CLI: durations in ms (`0.42 ms`, `8.5 ms`, `812 ms`, `1.23 s`), sizes (`812 kB`, `1.2 GB`),
approximate counts (`~8.1M`) and sparklines (`▁▂▃▅▇`)."""

import math
from collections.abc import Sequence

SPARK_CHARS = "▁▂▃▄▅▆▇█"


def ms(value: float | None) -> str:
    """A duration given in milliseconds: `0.42 ms`, `8.5 ms`, `812 ms`, `1.23 s`; `–` when
    unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def size(n_bytes: int) -> str:
    """A size on disk in decimal units: `0 B`, `812 kB`, `1.2 GB`."""
    value = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def approx(n: int | None) -> str:
    """An estimated count: `~0`, `~950`, `~12k`, `~8.1M`, `~2.3G`; `–` when unknown."""
    if n is None:
        return "–"
    for limit, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= limit:
            scaled = n / limit
            return f"~{scaled:.1f}{unit}" if scaled < 10 else f"~{scaled:.0f}{unit}"
    return f"~{n}"


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
    """`1 occurrence`, `2 occurrences`, `0 alerts`; `many` for irregular plurals."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def period(seconds: float) -> str:
    """A length of time rounded as people say it: `45 s`, `5 min`, `1 h 20 min`, `3.5 days`."""
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h" if rest == 0 else f"{hours} h {rest} min"
    days = seconds / 86400
    return f"{days:.0f} days" if days >= 10 else f"{days:.1f} days"

"""How perfbot writes numbers for people, the same in chat replies and alert messages:
durations in ms (`0.42 ms`, `8.5 ms`, `812 ms`, `1.23 s`) and sparklines (`▁▂▃▅▇`)."""

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

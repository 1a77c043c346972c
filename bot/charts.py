"""PNG charts of an operation's latency against its baseline: p50/p95/p99 lines over time, the
baseline band (baseline p50 to p99) and the threshold line (p99 x multiplier). Used by the chat
notifiers (attached in the alert's thread) and by the `/perf` chart commands.

matplotlib is imported inside `latency_png`, so start-up stays light, and drawn on a bare
`Figure` with the Agg canvas, never through pyplot's global state, so that a chart can be made
in a worker thread (`asyncio.to_thread`) while the event loop keeps running. It is CPU work of
tens of milliseconds: call it from async code only through a thread."""

import io
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

WIDTH_IN = 8.0
HEIGHT_IN = 3.6
DPI = 100
MAX_DAY_TICKS = 8


class ChartError(ValueError):
    """The series cannot be drawn (no points, or lengths that do not match)."""


class Series(Protocol):
    """What a chart needs; `bot.notify.LatencySeries` is one. A protocol rather than that class
    so that `bot.commands`, which may not import `bot.notify`, can draw charts too."""

    @property
    def operation_type(self) -> str: ...
    @property
    def timestamps(self) -> Sequence[datetime]: ...
    @property
    def p50_ms(self) -> Sequence[float]: ...
    @property
    def p95_ms(self) -> Sequence[float]: ...
    @property
    def p99_ms(self) -> Sequence[float]: ...
    @property
    def baseline_p50_ms(self) -> float | None: ...
    @property
    def baseline_p99_ms(self) -> float | None: ...
    @property
    def threshold_ms(self) -> float | None: ...


def ticks(span: timedelta) -> tuple[str, int | None]:
    """The x-axis tick label pattern for a chart spanning `span`, and for spans of days the
    interval of its daily ticks (at most 8 of them): `Tue 12-01` per day, never a row of
    `00:00` labels; the date and time when the span crosses midnight; the time alone within
    half a day."""
    if span > timedelta(hours=36):
        return "%a %m-%d", max(1, math.ceil(span / timedelta(days=1) / MAX_DAY_TICKS))
    if span > timedelta(hours=12):
        return "%m-%d %H:%M", None
    return "%H:%M", None


def latency_png(series: Series, *, title: str | None = None) -> bytes:
    """The chart of `series` as PNG bytes (800 x 360 px); the title (default: the operation's
    name) is drawn literally, `$` included. Raises ChartError for an empty or inconsistent
    series."""
    n = len(series.timestamps)
    if n == 0:
        raise ChartError("no data points to draw")
    for name in ("p50_ms", "p95_ms", "p99_ms"):
        values = getattr(series, name)
        if values and len(values) != n:
            raise ChartError(f"{name} has {len(values)} points for {n} timestamps")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter, DayLocator, date2num
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)  # attaches the Agg canvas: no pyplot, no global backend
    axes = figure.add_subplot(1, 1, 1)
    times = date2num(list(series.timestamps))  # type: ignore[no-untyped-call]
    zone = series.timestamps[-1].tzinfo
    if series.baseline_p50_ms is not None and series.baseline_p99_ms is not None:
        axes.axhspan(
            series.baseline_p50_ms,
            series.baseline_p99_ms,
            color="#2E7D32",
            alpha=0.12,
            label="baseline p50 to p99",
        )
    elif series.baseline_p99_ms is not None:
        axes.axhline(series.baseline_p99_ms, color="#2E7D32", linestyle=":", label="baseline p99")
    if series.threshold_ms is not None:
        axes.axhline(
            series.threshold_ms, color="#D32F2F", linestyle="--", linewidth=1.2, label="threshold"
        )
    for label, values, colour in (
        ("p50", series.p50_ms, "#1976D2"),
        ("p95", series.p95_ms, "#F57C00"),
        ("p99", series.p99_ms, "#6A1B9A"),
    ):
        if values:
            axes.plot(
                times,
                list(values),
                color=colour,
                linewidth=1.5,
                label=label,
                marker="." if n < 3 else None,
            )
    axes.set_ylabel("latency (ms)")
    axes.set_ylim(bottom=0)
    pattern, every = ticks(series.timestamps[-1] - series.timestamps[0])
    if every is not None:
        axes.xaxis.set_major_locator(DayLocator(interval=every, tz=zone))  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(DateFormatter(pattern, tz=zone))  # type: ignore[no-untyped-call]
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", fontsize="small", ncols=3)
    # names are data: never mathtext (`$_$` would raise) nor LaTeX, whatever matplotlibrc says
    axes.set_title(
        title or f"{series.operation_type} latency (UTC)",
        fontsize="medium",
        usetex=False,
        parse_math=False,
    )
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()

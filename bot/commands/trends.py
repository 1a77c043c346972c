"""`/perf trends <op>`: an operation's latency over the last calendar days (UTC, or
`display.timezone`; today included and marked partial) from hourly rollups, computed by
`bot.analysis.trends` — p50/p95/p99 per day (per hour for one or two days), a sparkline of the
hourly p99, the slope (over two days of data or more), the change against the baseline, and the
PNG chart, its ticks dated, where the front end shows images."""

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

import numpy as np

from bot import charts, errors
from bot.analysis.rollups import as_datetime
from bot.analysis.trends import Trend, trends
from bot.commands import format as fmt
from bot.commands.args import operation, parse, whole_number
from bot.commands.context import CommandContext
from bot.commands.registry import PREFIX, Registry, command
from bot.commands.reply import Fields, Image, Paragraph, Reply, table
from bot.store.rollups import floor_to

HOUR = timedelta(hours=1)
DAY_S = 86400
MAX_DAYS = 30
HOURLY_ROWS = 24
CHART_TIMEOUT_S = 10.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Series:
    """What `bot.charts.latency_png` draws (its `Series` protocol)."""

    operation_type: str
    timestamps: Sequence[datetime]
    p50_ms: Sequence[float]
    p95_ms: Sequence[float]
    p99_ms: Sequence[float]
    baseline_p50_ms: float | None
    baseline_p99_ms: float | None
    threshold_ms: float | None


def _value(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def day_edges(now: datetime, days: int, zone: tzinfo) -> list[datetime]:
    """The starts (UTC) of the last `days` calendar days of `zone`, today the last."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    return [
        datetime.combine(first + timedelta(days=i), time(0), tzinfo=zone).astimezone(UTC)
        for i in range(days)
    ]


def _rows(trend: Trend, zone: tzinfo, limit: int | None = None) -> list[tuple[str, ...]]:
    """One row per bucket, labelled in `zone`: `Tue 12-01` per day, `12-03 14:00` per hour; the
    last (current) bucket is marked partial."""
    daily = trend.resolution_s >= DAY_S
    rows: list[tuple[str, ...]] = []
    last = len(trend.buckets) - 1
    for i, bucket in enumerate(trend.buckets):
        start = as_datetime(bucket).astimezone(zone)
        label = start.strftime("%a %m-%d" if daily else "%m-%d %H:00")
        if i == last:
            label += " (today, partial)" if daily else " (partial)"
        rows.append(
            (
                label,
                f"{int(trend.count[i]):,}",
                fmt.ms(_value(trend.p50_ms[i])),
                fmt.ms(_value(trend.p95_ms[i])),
                fmt.ms(_value(trend.p99_ms[i])),
            )
        )
    return rows[-limit:] if limit else rows


def _direction(slope: float | None) -> str:
    if slope is None:
        return "no slope: it needs two days of data or more"
    word = "rising" if slope > 0 else "falling" if slope < 0 else "flat"
    return f"{word} {abs(slope):.1f} ms/day" if word != "flat" else word


async def _chart(series: Series, days: int, zone_name: str) -> Image | None:
    title = f"{series.operation_type}: last {fmt.plural(days, 'day')} ({zone_name})"
    try:
        png = await asyncio.wait_for(
            asyncio.to_thread(charts.latency_png, series, title=title),
            CHART_TIMEOUT_S,
        )
    except (charts.ChartError, TimeoutError) as exc:
        logger.warning(
            "trend chart failed", extra={"action": "trend_chart_failed", "error": str(exc)}
        )
        return None
    return Image(
        png=png,
        filename=f"perfbot-trend-{series.operation_type}.png",
        title=f"{series.operation_type} latency, last {fmt.plural(days, 'day')}",
        alt=f"p50, p95 and p99 of {series.operation_type} per hour against its baseline",
    )


@command(
    "trends",
    "trends <op> [--days 7]",
    "an operation's p50/p95/p99 over the last days, against its baseline",
    details="Calendar days (UTC, or display.timezone), today included and marked partial: "
    "per day for 3 days or more, per hour for 1–2 days; at most 30 days. "
    "Slack and Mattermost also get the chart.",
)
async def trends_(ctx: CommandContext, args: list[str]) -> Reply:
    p = parse(
        args,
        {"days": lambda v: whole_number(v, low=1, high=MAX_DAYS, what="--days")},
        max_positional=1,
    )
    if not p.positional:
        raise errors.BadArguments(f"which operation? e.g. {PREFIX} trends commit")
    op = await operation(ctx, p.positional[0])
    days: int = p.options.get("days", 7)
    display = ctx.settings.display
    zone = display.zone
    last = fmt.plural(days, "day")
    end = floor_to(ctx.now, HOUR) + HOUR  # the current, partial hour included
    edges = day_edges(ctx.now, days, zone)
    start = floor_to(edges[0], HOUR)  # midnight in the zone (its hour, for half-hour zones)
    rollups = await ctx.store.rollups.hours_of(op, start, end, ctx.now)
    baselines = await ctx.store.findings.active_baselines()
    [hourly] = trends(rollups, start, end, baselines=baselines, operations=[op])
    if int(np.sum(hourly.count)) == 0:
        return Reply(text=f"No {op} data in the last {last}.")
    [shown] = (
        trends(
            rollups,
            start,
            end,
            resolution_s=DAY_S,
            baselines=baselines,
            operations=[op],
            edges=[start, *edges[1:]],
        )
        if days >= 3
        else [hourly]
    )
    baseline = baselines.get(op)
    change = (
        f", {fmt.pct(hourly.change_pct)} vs baseline p99 {fmt.ms(hourly.baseline_p99_ms)}"
        if hourly.change_pct is not None
        else " (no baseline yet)"
    )
    p99s = [float(v) for v in hourly.p99_ms]
    spark = fmt.spark(p99s)
    image = None
    if ctx.images:
        image = await _chart(
            Series(
                operation_type=op,
                timestamps=[as_datetime(b).astimezone(zone) for b in hourly.buckets],
                p50_ms=[float(v) for v in hourly.p50_ms],
                p95_ms=[float(v) for v in hourly.p95_ms],
                p99_ms=p99s,
                baseline_p50_ms=baseline.p50_ms if baseline else None,
                baseline_p99_ms=baseline.p99_ms if baseline else None,
                threshold_ms=baseline.threshold_ms if baseline else None,
            ),
            days,
            display.timezone,
        )
    finite = [v for v in p99s if math.isfinite(v)]
    return Reply.of(
        f"{op}, last {last} ({display.timezone} days, today partial): "
        f"p99 {fmt.ms(_value(hourly.window_p99_ms))}{change}",
        Fields(
            (
                ("Samples", f"{int(np.sum(hourly.count)):,}"),
                ("Trend", _direction(hourly.slope_ms_per_day)),
                ("Baseline p99", fmt.ms(hourly.baseline_p99_ms)),
                ("Change", fmt.pct(hourly.change_pct)),
            )
        ),
        table(
            (
                f"day ({display.timezone})"
                if shown.resolution_s >= DAY_S
                else f"hour ({display.timezone})",
                "samples",
                "p50",
                "p95",
                "p99",
            ),
            _rows(shown, zone, None if shown.resolution_s >= DAY_S else HOURLY_ROWS),
        ),
        Paragraph(
            f"p99 per hour {spark} ({fmt.ms(min(finite))} to {fmt.ms(max(finite))})", mono=True
        )
        if spark and finite
        else None,
        image=image,
    )


def register(registry: Registry) -> None:
    """Add trends to `registry`."""
    registry.add(trends_)

"""`/perf merges`: pgGit merge analytics for a window, computed by `bot.analysis.merges` —
success and conflict rates, duration percentiles, the slowest phase, auto-resolution, conflict
hot spots by branch pair, and the SLA: the window's p95 against the p99 of the merges in the
week before it."""

from datetime import timedelta

import numpy as np

from bot.analysis.merges import merge_stats
from bot.commands import format as fmt
from bot.commands.args import parse, window
from bot.commands.context import CommandContext
from bot.commands.registry import Registry, command
from bot.commands.reply import Fields, Reply, table

DEFAULT_WINDOW = timedelta(hours=24)
REFERENCE = timedelta(days=7)
MIN_REFERENCE = 10  # merges needed before their p99 means anything
HOT_SPOTS = 10


def _rate(value: float) -> str:
    return f"{value * 100:.0f}%"


@command(
    "merges",
    "merges [--since 24h]",
    "merge analytics: success, durations, slowest phase, conflict hot spots, SLA",
    details="The SLA compares the window's p95 with the p99 of the 7 days before it: "
    "OK up to that p99, DEGRADED up to 1.5 × it, CRITICAL beyond.",
)
async def merges(ctx: CommandContext, args: list[str]) -> Reply:
    p = parse(args, {"since": window}, max_positional=0)
    since: timedelta = p.options.get("since", DEFAULT_WINDOW)
    now = ctx.now
    records = await ctx.store.source.merges(now - since, now)
    if not records:
        return Reply(text=f"No merges in the last {fmt.span(since)}.")
    before = await ctx.store.source.merges(now - since - REFERENCE, now - since)
    reference = (
        float(np.percentile([m.total_ms for m in before], 99))
        if len(before) >= MIN_REFERENCE
        else None
    )
    stats = merge_stats(records, reference)
    sla = (
        f"{stats.sla.value} (p95 {fmt.ms(stats.p95_ms)} vs p99 {fmt.ms(reference)} the week before)"
        if stats.sla is not None
        else f"unknown: fewer than {MIN_REFERENCE} merges in the week before"
    )
    phases = ", ".join(
        f"{phase.value.lower().replace('_', ' ')} {count}"
        for phase, count in sorted(stats.slowest_phase_counts.items(), key=lambda kv: -kv[1])
    )
    rows = [
        (f"{s.source} → {s.target}", str(s.attempts), str(s.conflicts), _rate(s.rate))
        for s in stats.hot_spots
    ]
    headline = (
        f"{stats.merges} merge{'s' if stats.merges != 1 else ''} in the last {fmt.span(since)}: "
        f"{_rate(stats.success_rate)} landed, p95 {fmt.ms(stats.p95_ms)}"
        + (f", SLA {stats.sla.value}" if stats.sla is not None else "")
    )
    return Reply.of(
        headline,
        Fields(
            (
                ("Landed", _rate(stats.success_rate)),
                ("With conflicts", _rate(stats.conflict_rate)),
                (
                    "p50 / p95 / p99",
                    f"{fmt.ms(stats.p50_ms)} / {fmt.ms(stats.p95_ms)} / {fmt.ms(stats.p99_ms)}",
                ),
                ("SLA", sla),
                ("Slowest phase", f"{stats.slowest_phase.value} (per merge: {phases})"),
                (
                    "Auto-resolution",
                    f"{stats.rating.value}: {stats.auto_resolved} auto, {stats.manual} by hand, "
                    f"{stats.rejected} rejected",
                ),
            )
        ),
        table(
            ("branches", "merges", "conflicted", "rate"),
            rows,
            title="Conflict hot spots",
            limit=HOT_SPOTS,
            more="more branch pairs",
        )
        if rows
        else None,
    )


def register(registry: Registry) -> None:
    """Add merges to `registry`."""
    registry.add(merges)

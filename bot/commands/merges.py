"""`/perf merges`: pgGit merge analytics for a window, computed by `bot.analysis.merges` —
success and conflict rates, duration percentiles, the phases (mean ms of each, and how often
each was a merge's slowest), auto-resolution, conflict hot spots by branch pair, and the SLA
of the window asked for: its p95 against the p99 of the merges in the week before it (and, for
a window longer than an hour, the last hour's too, so that a saturation happening now is not
averaged away by a quiet day)."""

from datetime import datetime, timedelta

import numpy as np

from bot.analysis.merges import MergePhase, MergeStats, merge_stats, sla_status
from bot.commands import format as fmt
from bot.commands.args import parse, window
from bot.commands.context import CommandContext
from bot.commands.registry import Registry, command
from bot.commands.reply import Fields, Reply, table
from bot.models import MergeRecord

DEFAULT_WINDOW = timedelta(hours=24)
REFERENCE = timedelta(days=7)
MIN_REFERENCE = 10  # merges needed before their p99 means anything
HOT_SPOTS = 10
RECENT = timedelta(hours=1)
PHASES = {
    MergePhase.BASE_FINDING: "base finding",
    MergePhase.CONFLICT_DETECTION: "conflict detection",
    MergePhase.AUTO_RESOLUTION: "auto-resolution",
    MergePhase.UNKNOWN: "unknown: no phase times, or a tie",
}


def _rate(value: float) -> str:
    return f"{value * 100:.0f}%"


@command(
    "merges",
    "merges [--since 24h]",
    "merge analytics: success, durations, slowest phase, conflict hot spots, SLA",
    details="The SLA compares the window's p95 with the p99 of the 7 days before it: "
    "OK up to that p99, DEGRADED up to 1.5 × it, CRITICAL beyond; a window longer than an hour "
    "also shows the last hour's.",
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
    span = fmt.span(since)
    sla = (
        f"{stats.sla.value} for the last {span} "
        f"(p95 {fmt.ms(stats.p95_ms)} vs p99 {fmt.ms(reference)} of the 7 days before)"
        if stats.sla is not None and reference is not None
        else f"unknown: fewer than {MIN_REFERENCE} merges in the 7 days before"
    )
    recent = _last_hour(records, now, reference) if since > RECENT else None
    rows = [
        (f"{s.source} → {s.target}", str(s.attempts), str(s.conflicts), _rate(s.rate))
        for s in stats.hot_spots
    ]
    headline = (
        f"{fmt.plural(stats.merges, 'merge')} in the last {span}: "
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
                *((("SLA, last hour", recent),) if recent else ()),
                (
                    "Slowest phase",
                    PHASES[stats.slowest_phase]
                    + ("" if stats.slowest_phase is MergePhase.UNKNOWN else " (by mean time)"),
                ),
                (
                    "Auto-resolution",
                    f"{stats.rating.value}: {stats.auto_resolved} auto, {stats.manual} by hand, "
                    f"{stats.rejected} rejected",
                ),
            )
        ),
        table(
            ("phase", "mean", "slowest in"),
            _phase_rows(stats),
            title="Phases (mean time per merge; how many merges each phase was the slowest of)",
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


def _phase_rows(stats: MergeStats) -> list[tuple[str, str, str]]:
    """One row per phase: `conflict detection | 906 ms | 14 of 20 merges (70%)`."""
    rows = []
    for phase, name in PHASES.items():
        mean = stats.phase_means_ms.get(phase)
        count = stats.slowest_phase_counts.get(phase, 0)
        if mean is None and count == 0:
            continue
        share = _rate(count / stats.merges)
        rows.append(
            (name, fmt.ms(mean), f"{count} of {fmt.plural(stats.merges, 'merge')} ({share})")
        )
    return rows


def _last_hour(records: list[MergeRecord], now: datetime, reference: float | None) -> str | None:
    """The last hour's SLA against the same reference; None without a reference or merges."""
    recent = [m.total_ms for m in records if m.started_at >= now - RECENT]
    if reference is None or not recent:
        return None
    p95 = float(np.percentile(recent, 95))
    status = sla_status(p95, reference)
    return f"{status.value} (p95 {fmt.ms(p95)} of {fmt.plural(len(recent), 'merge')})"


def register(registry: Registry) -> None:
    """Add merges to `registry`."""
    registry.add(merges)

"""What detection found: recent anomalies (with the state of their alerts), correlated
slowdowns that point at a shared bottleneck, and the baselines anomalies are measured against."""

from collections import Counter
from datetime import timedelta

from bot import errors
from bot.analysis.bottleneck import clusters
from bot.commands import format as fmt
from bot.commands.args import operation, parse, unknown_operation_text, window
from bot.commands.args import severity as parse_severity
from bot.commands.context import CommandContext
from bot.commands.registry import Registry, command
from bot.commands.reply import Fields, Paragraph, Reply, table
from bot.models import AlertStatus, Anomaly, Severity

DEFAULT_WINDOW = timedelta(hours=24)
ANOMALY_FETCH = 200
ANOMALY_ROWS = 15
PAIR_ROWS = 15


def _score(a: Anomaly) -> str:
    if a.z_score is not None:
        # the z-score detector's z is in standard deviations; the robust rules' in standard errors
        return f"z {a.z_score:.1f}" if a.detector == "zscore" else f"{a.z_score:.1f} SE"
    if a.degradation_pct is not None:
        return f"{a.degradation_pct:+.0f}% p99"
    if a.deviation_pct is not None:
        return f"{a.deviation_pct:+.0f}%"
    return "–"


@command(
    "anomalies",
    "anomalies [op] [--since 24h] [--severity S]",
    "recent anomalies, newest first, with their alerts",
    details="--severity warning shows WARNING and CRITICAL; --since takes 30m, 6h, 7d (≤ 30d).",
)
async def anomalies(ctx: CommandContext, args: list[str]) -> Reply:
    p = parse(args, {"since": window, "severity": parse_severity}, max_positional=1)
    since: timedelta = p.options.get("since", DEFAULT_WINDOW)
    floor: Severity = p.options.get("severity", Severity.INFO)
    op = await operation(ctx, p.positional[0]) if p.positional else None
    found = await ctx.store.findings.anomalies_since(
        ctx.now - since, operation=op, min_severity=floor, limit=ANOMALY_FETCH
    )
    scope = (f" of {op}" if op else "") + (
        f" at {floor.value} or worse" if floor > Severity.INFO else ""
    )
    if not found:
        return Reply(text=f"No anomalies{scope} in the last {fmt.span(since)}.")
    alerts = {
        a.id: a
        for a in await ctx.store.alerts.with_status(
            (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED), limit=500
        )
    }

    def alert_cell(a: Anomaly) -> str:
        if a.alert_id is None:
            return "–"
        alert = alerts.get(a.alert_id)
        if alert is None:
            return f"#{a.alert_id} resolved"
        return f"#{a.alert_id} {'acked' if alert.status is AlertStatus.ACKNOWLEDGED else 'open'}"

    rows = [
        (
            fmt.when(a.detected_at),
            a.operation_type,
            a.kind.value,
            a.severity.value,
            fmt.ms(a.value_ms),
            fmt.ms(a.baseline_p99_ms),
            _score(a),
            alert_cell(a),
        )
        for a in found
    ]
    counts = Counter(a.severity for a in found)
    by_severity = ", ".join(f"{counts[s]} {s.value}" for s in reversed(Severity) if counts[s])
    total = f"{ANOMALY_FETCH}+" if len(found) >= ANOMALY_FETCH else str(len(found))
    return Reply.of(
        f"{total} anomal{'y' if len(found) == 1 else 'ies'}{scope} in the last "
        f"{fmt.span(since)}: {by_severity}",
        table(
            (
                "when (UTC)",
                "operation",
                "kind",
                "severity",
                "worst",
                "baseline p99",
                "score",
                "alert",
            ),
            rows,
            limit=ANOMALY_ROWS,
        ),
    )


@command(
    "bottlenecks",
    "bottlenecks [--since 24h]",
    "operations slowing down together: pairs, r, bottleneck class, what to do",
    details="Pairs that share an operation form one bottleneck; each class has its advice.",
)
async def bottlenecks(ctx: CommandContext, args: list[str]) -> Reply:
    p = parse(args, {"since": window}, max_positional=0)
    since: timedelta = p.options.get("since", DEFAULT_WINDOW)
    pairs = await ctx.store.findings.correlations_since(ctx.now - since, limit=100)
    if not pairs:
        return Reply(text=f"No correlated slowdowns in the last {fmt.span(since)}.")
    rows = [
        (
            f"{c.operation_a} ↔ {c.operation_b}",
            f"{c.r:.2f}",
            str(c.n),
            c.bottleneck.value,
            c.severity.value,
            fmt.when(c.analyzed_at),
        )
        for c in pairs
    ]
    groups = clusters(pairs)
    lines = [
        f"{', '.join(g.operations)} → {g.bottleneck.value} ({g.severity.value}, r up to "
        f"{g.max_r:.2f}): " + " ".join(g.recommendations)
        for g in groups
    ]
    worst = max(pairs, key=lambda c: c.r)
    return Reply.of(
        f"{len(pairs)} correlated pair{'s' if len(pairs) != 1 else ''} in the last "
        f"{fmt.span(since)}; strongest {worst.operation_a} ↔ {worst.operation_b} "
        f"(r = {worst.r:.2f}, {worst.bottleneck.value})",
        table(("pair", "r", "buckets", "class", "severity", "analysed"), rows, limit=PAIR_ROWS),
        Paragraph("Bottlenecks and what to do\n" + "\n".join(f"• {line}" for line in lines)),
    )


@command(
    "baselines",
    "baselines [op]",
    "the latency baselines anomalies are measured against",
    details="With an operation: its baseline in full and the recent recalculations.",
)
async def baselines(ctx: CommandContext, args: list[str]) -> Reply:
    words = parse(args, max_positional=1).positional
    active = await ctx.store.findings.active_baselines()
    now = ctx.now
    if not words:
        if not active:
            return Reply(text="No baselines yet: they need 10 samples per operation over 7 days.")
        rows = [
            (
                b.operation_type,
                f"{b.sample_count:,}",
                fmt.ms(b.p50_ms),
                fmt.ms(b.p95_ms),
                fmt.ms(b.p99_ms),
                fmt.ms(b.threshold_ms),
                fmt.ago(b.computed_at, now),
            )
            for b in active.values()
        ]
        return Reply.of(
            f"{len(active)} baseline{'s' if len(active) != 1 else ''}",
            table(("operation", "samples", "p50", "p95", "p99", "threshold", "computed"), rows),
        )
    name = words[0]
    folded = {op.casefold(): op for op in active}
    op = name if name in active else folded.get(name.casefold())
    if op is None:
        if await ctx.store.operations.named(name) is not None:
            return Reply(text=f"{name} has no baseline yet: it needs 10 samples over 7 days.")
        raise errors.UnknownOperation(await unknown_operation_text(ctx, name))
    b = active[op]
    history = await ctx.store.findings.baseline_history(op, limit=5)
    facts = Fields(
        (
            ("Samples", f"{b.sample_count:,}"),
            ("Window", f"{fmt.when(b.window_start)} → {fmt.when(b.window_end)} UTC"),
            ("Mean ± σ", f"{fmt.ms(b.mean_ms)} ± {fmt.ms(b.stddev_ms)}"),
            ("p50 / p95 / p99", f"{fmt.ms(b.p50_ms)} / {fmt.ms(b.p95_ms)} / {fmt.ms(b.p99_ms)}"),
            ("Threshold", f"{fmt.ms(b.threshold_ms)} (p99 × {b.multiplier:g})"),
            ("Computed", fmt.ago(b.computed_at, now)),
        )
    )
    changes = [
        (
            fmt.ms(h.old_p99_ms),
            fmt.ms(h.new_p99_ms),
            fmt.pct(h.change_pct),
            "replaced" if h.replaced else "kept",
            h.reason,
        )
        for h in history
    ]
    return Reply.of(
        f"Baseline of {op}: p99 {fmt.ms(b.p99_ms)}",
        facts,
        table(("old p99", "new p99", "change", "outcome", "why"), changes, title="Recalculations")
        if changes
        else None,
    )


def register(registry: Registry) -> None:
    """Add anomalies, bottlenecks and baselines to `registry`."""
    registry.add(anomalies, bottlenecks, baselines)

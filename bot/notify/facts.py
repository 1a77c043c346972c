"""What every renderer says about an alert, as plain strings: its state, the key facts with
units, a sparkline of the last hour, a bottleneck's operation pairs and recommendations, and the
alerts grouped under it. Each channel's renderer lays these out in its own format (Block Kit,
attachments, HTML, a terminal panel); nothing here knows a platform, and every reader of
`alert.details` copes with a key that is missing or of the wrong type.

Everything here is plain text. Where perfbot's own words are mixed with text from outside
(titles, operation names, user names, recommendations), the function takes `esc`, the
platform's escaping (`bot.notify.escape`), and applies it to the outside text only, so that a
renderer whose markup needs the punctuation of its own words left alone (Mattermost's
Markdown) can escape exactly the data; a renderer may instead escape the whole plain string."""

import hashlib
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime

from bot.cards import evidence, number, one_line
from bot.humanize import ms, period, plural, spark
from bot.models import Alert, AlertKind, AlertStatus, Paged, Severity
from bot.notify import LatencySeries, Notification
from bot.routing import paging

__all__ = ["evidence", "number"]

SPARK_WIDTH = 60

SEVERITY_COLOR = {
    Severity.CRITICAL: "#D32F2F",
    Severity.WARNING: "#F57C00",
    Severity.INFO: "#1976D2",
}
RESOLVED_COLOR = "#2E7D32"

# emoji shortcodes that Slack and Mattermost both render
SEVERITY_EMOJI = {
    Severity.CRITICAL: ":red_circle:",
    Severity.WARNING: ":large_orange_circle:",
    Severity.INFO: ":large_blue_circle:",
}
RESOLVED_EMOJI = ":white_check_mark:"

Fact = tuple[str, str]
Escape = Callable[[str], str]


def _same(text: str) -> str:
    return text


def color(alert: Alert) -> str:
    """The alert's colour as `#rrggbb`: green once resolved, else its severity's colour."""
    if alert.status is AlertStatus.RESOLVED:
        return RESOLVED_COLOR
    return SEVERITY_COLOR[alert.severity]


def emoji(alert: Alert) -> str:
    """The alert's emoji shortcode: a check mark once resolved, else its severity's circle."""
    if alert.status is AlertStatus.RESOLVED:
        return RESOLVED_EMOJI
    return SEVERITY_EMOJI[alert.severity]


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def fmt_time(moment: datetime) -> str:
    """A timestamp in UTC to the second: `2026-11-27 06:00:00 UTC`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def headline(alert: Alert, esc: Escape = _same) -> str:
    """`commit latency anomaly (#42)`."""
    return f"{esc(alert.title)} (#{alert.id})"


def operations(alert: Alert, esc: Escape = _same) -> str:
    return ", ".join(esc(op) for op in alert.operation_types) or "(none)"


def state(notification: Notification, esc: Escape = _same) -> str:
    """`open`, `acknowledged by alice`, `escalated (step 2)`, `resolved`, with `, silenced`."""
    alert = notification.alert
    if alert.status is AlertStatus.RESOLVED:
        text = f"resolved by {esc(alert.resolved_by)}" if alert.resolved_by else "resolved"
    elif alert.status is AlertStatus.ACKNOWLEDGED:
        text = (
            f"acknowledged by {esc(alert.acknowledged_by)}"
            if alert.acknowledged_by
            else "acknowledged"
        )
    elif notification.event == "escalated" or alert.escalation_step > 0:
        text = escalation(alert, esc)
    else:
        text = "open"
    if alert.silence_id is not None and alert.status is not AlertStatus.RESOLVED:
        text += ", silenced"
    return text


def escalation(alert: Alert, esc: Escape = _same) -> str:
    """`escalated to step 2 of 3: notified dba-pager, mentioned @dba`, from the alert's frozen
    plan; `escalated by hand` when no step of the plan has run."""
    steps = alert.plan.steps
    number_ = alert.escalation_step
    if number_ <= 0 or number_ > len(steps):
        return "escalated by hand" if number_ <= 0 else f"escalated to step {number_}"
    step = steps[number_ - 1]
    targets = []
    if step.notify:
        targets.append("notified " + ", ".join(esc(c) for c in step.notify))
    if step.mention:
        targets.append("mentioned " + ", ".join(esc(m) for m in step.mention))
    text = f"escalated to step {number_} of {len(steps)}"
    return f"{text}: {'; '.join(targets)}" if targets else text


def event_label(notification: Notification) -> str:
    """A short upper-case tag for subjects and terminal lines: the severity while the alert is
    news (`CRITICAL`), else what happened (`ACK`, `UNACK`, `ESCALATED`, `RESOLVED`; `TEST` for a
    test card)."""
    labels = {
        "acknowledged": "ACK",
        "unacknowledged": "UNACK",
        "escalated": "ESCALATED",
        "resolved": "RESOLVED",
        "test": "TEST",
    }
    if notification.alert.status is AlertStatus.RESOLVED:
        return "RESOLVED"
    return labels.get(notification.event, notification.alert.severity.value)


def facts(notification: Notification, esc: Escape = _same) -> list[Fact]:
    """The alert's key facts as (label, value), most important first: severity, state, the
    operations, the kind, then the evidence of its kind (`bot.cards`), then when and how
    often it was seen; only the known ones."""
    alert = notification.alert
    ops = "Operations" if len(alert.operation_types) > 1 else "Operation"
    kind = (
        alert.kind.value if alert.bottleneck is None else f"{alert.kind.value}: {alert.bottleneck}"
    )
    out: list[Fact] = [
        ("Severity", alert.severity.value),
        ("State", state(notification, esc)),
        (ops, operations(alert, esc)),
        ("Kind", kind),
    ]
    if alert.kind is AlertKind.BOTTLENECK:  # its evidence names the members
        del out[2]
    out += evidence(alert, esc)
    out.append(("Occurrences", str(alert.occurrences)))
    out.append(("First seen", fmt_time(alert.first_seen)))
    out.append(("Last seen", fmt_time(alert.last_seen)))
    if alert.paged:
        out.append(("Escalated to", "; ".join(esc(paged_line(p)) for p in alert.paged)))
    return out


def paged_line(paged: Paged) -> str:
    """`Ada Lovelace (on call: primary) at 2026-06-03 12:10:00 UTC`."""
    return f"{paging.describe(paged)} at {fmt_time(paged.at)}"


def pairs(alert: Alert, esc: Escape = _same) -> list[str]:
    """A bottleneck's correlated operation pairs: `commit ↔ branch_create r=0.93 (n=48)`."""
    raw = alert.details.get("pairs")
    lines = []
    if isinstance(raw, list):
        for pair in raw:
            if not isinstance(pair, dict) or "a" not in pair or "b" not in pair:
                continue
            text = f"{esc(str(pair['a']))} ↔ {esc(str(pair['b']))}"
            r = number(pair, "r")
            if r is not None:
                text += f" r={r:.2f}"
            n = number(pair, "n")
            if n is not None:
                text += f" (n={n:.0f})"
            lines.append(text)
    r = number(alert.details, "r")
    if not lines and r is not None and len(alert.operation_types) == 2:
        first, second = (esc(op) for op in alert.operation_types)
        lines.append(f"{first} ↔ {second} r={r:.2f}")
    return lines


def recommendations(alert: Alert, esc: Escape = _same) -> list[str]:
    raw = alert.details.get("recommendations")
    if not isinstance(raw, list | tuple):
        return []
    return [esc(str(item)) for item in raw if str(item).strip()]


def thread_text(notification: Notification, esc: Escape = _same) -> str:
    """What a repeat or an escalation adds to the alert's thread (mentions are the caller's)."""
    alert = notification.alert
    if notification.event == "escalated":
        text = f":rotating_light: {headline(alert, esc)}: {escalation(alert, esc)}"
        now_paged = [p for p in alert.paged if p.step == alert.escalation_step]
        if now_paged:
            text += "\nEscalated to " + "; ".join(esc(paged_line(p)) for p in now_paged)
    else:
        seen = plural(alert.occurrences, "occurrence")
        text = f":repeat: Seen again: {headline(alert, esc)}, {seen}, last at {fmt_time(alert.last_seen)}"
    value = one_line(alert, esc)
    return text if value is None else f"{text}\n{value}"


def markdown_url(url: str) -> str:
    """`url` safe inside Markdown's `(…)` link target: parentheses, angle brackets, spaces,
    backslashes and bars percent-encoded (the values put into a link's URL template are
    already percent-encoded, `bot.routing.links`)."""
    return url.translate(_URL_MARKUP)


_URL_MARKUP = str.maketrans(
    {"(": "%28", ")": "%29", "<": "%3C", ">": "%3E", " ": "%20", "\\": "%5C", "|": "%7C"}
)


def child_line(child: Alert, esc: Escape = _same) -> str:
    """One grouped alert: `#43 WARNING commit latency anomaly (acknowledged)`."""
    status = "" if child.status is AlertStatus.OPEN else f" ({child.status.value})"
    return f"#{child.id} {child.severity.value} {esc(child.title)}{status}"


def _shown(series: LatencySeries | None) -> tuple[str, list[float]] | None:
    """The percentile the sparkline shows (p99, else p95, else p50) and its finite values over
    the whole series (`bot.series` picks a span of at least 3x the incident)."""
    if series is None:
        return None
    for label, values in (("p99", series.p99_ms), ("p95", series.p95_ms), ("p50", series.p50_ms)):
        finite = [v for v in values if math.isfinite(v)]
        if finite:
            return label, finite
    return None


def sparkline(series: LatencySeries | None) -> str | None:
    """The series as block characters (`▁▂▃▅▇`), at most 60 wide, each character the worst
    value of its slice; None without data."""
    window = _shown(series)
    return None if window is None else spark(window[1], SPARK_WIDTH)


def sparkline_caption(series: LatencySeries | None) -> str | None:
    """`p99, last 3 h: 120 ms to 812 ms (baseline p50–p99 100 ms–240 ms)` for the values the
    sparkline shows."""
    window = _shown(series)
    if window is None or series is None:
        return None
    label, values = window
    span = "last hour"
    if len(series.timestamps) >= 2:
        seconds = (series.timestamps[-1] - series.timestamps[0]).total_seconds()
        if seconds >= 5400:  # up to 1.5 h it is the last hour, give or take a bucket
            span = f"last {period(seconds)}"
    text = f"{label}, {span}: {ms(min(values))} to {ms(max(values))}"
    if series.baseline_p50_ms is not None and series.baseline_p99_ms is not None:
        text += f" (baseline p50–p99 {ms(series.baseline_p50_ms)}–{ms(series.baseline_p99_ms)})"
    elif series.baseline_p99_ms is not None:
        text += f" (baseline p99 {ms(series.baseline_p99_ms)})"
    return text


def shown_digest(notification: Notification) -> str:
    """A digest of everything a reader sees of the alert's card except the live sparkline and
    chart: headline, state, summary, facts, pairs, recommendations and grouped alerts. Two
    notifications with one digest look the same, so an `updated` edit between them is not sent
    (`bot.delivery.worker`)."""
    alert = notification.alert
    shown = [
        headline(alert),
        state(notification),
        alert.summary,
        facts(notification),
        pairs(alert),
        recommendations(alert),
        [child_line(c) for c in notification.children],
    ]
    raw = json.dumps(shown, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]

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

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.humanize import ms, spark
from bot.models import Alert, AlertStatus, Severity
from bot.notify import LatencySeries, Notification

SPARK_WINDOW = timedelta(hours=1)
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


def number(details: dict[str, Any], key: str) -> float | None:
    """`details[key]` as a finite float, or None when absent, not a number, or NaN/infinite."""
    value = details.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        result = float(value)
    except ValueError:
        return None
    return result if math.isfinite(result) else None


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
        text = f"escalated (step {alert.escalation_step})" if alert.escalation_step else "escalated"
    else:
        text = "open"
    if alert.silence_id is not None and alert.status is not AlertStatus.RESOLVED:
        text += ", silenced"
    return text


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


def value_line(notification: Notification) -> str | None:
    """`812 ms vs baseline p99 240 ms (threshold 600 ms)`, with whatever part is known."""
    details = notification.alert.details
    series = notification.series
    value = number(details, "value_ms")
    p99 = number(details, "baseline_p99_ms")
    if p99 is None and series is not None:
        p99 = series.baseline_p99_ms
    threshold = number(details, "threshold_ms")
    if threshold is None and series is not None:
        threshold = series.threshold_ms
    parts = []
    if value is not None:
        parts.append(ms(value))
    if p99 is not None:
        parts.append(f"baseline p99 {ms(p99)}")
    if not parts:
        return None
    text = " vs ".join(parts)
    if threshold is not None:
        text += f" (threshold {ms(threshold)})"
    return text


def facts(notification: Notification, esc: Escape = _same) -> list[Fact]:
    """The alert's key facts as (label, value), most important first; only known ones."""
    alert = notification.alert
    details = alert.details
    plural = "s" if len(alert.operation_types) > 1 else ""
    kind = (
        alert.kind.value if alert.bottleneck is None else f"{alert.kind.value}: {alert.bottleneck}"
    )
    out: list[Fact] = [
        ("Severity", alert.severity.value),
        ("State", state(notification, esc)),
        (f"Operation{plural}", operations(alert, esc)),
        ("Kind", kind),
    ]
    value = value_line(notification)
    if value is not None:
        out.append(("Value", value))
    mean = number(details, "baseline_mean_ms")
    if mean is not None:
        out.append(("Baseline mean", ms(mean)))
    z_score = number(details, "z_score")
    if z_score is not None:
        out.append(("Z-score", f"{z_score:.1f}"))
    traffic = traffic_line(details)
    if traffic is not None:
        out.append(("Traffic", traffic))
    degradation = number(details, "degradation_pct")
    if degradation is not None:
        out.append(("Degradation", f"{degradation:+.0f} %"))
    outliers, samples = number(details, "outliers"), number(details, "samples")
    if outliers is not None and samples is not None:
        out.append(("Outliers", f"{outliers:.0f} of {samples:.0f} samples"))
    elif samples is not None:
        out.append(("Samples", f"{samples:.0f}"))
    out.append(("Occurrences", str(alert.occurrences)))
    out.append(("First seen", fmt_time(alert.first_seen)))
    out.append(("Last seen", fmt_time(alert.last_seen)))
    return out


def traffic_line(details: dict[str, Any]) -> str | None:
    """A traffic drop's rate vs usual: `3 requests in 15 min (0.2/min) vs usual 150
    (10/min)`; None for other kinds."""
    seen, usual = number(details, "observed_count"), number(details, "expected_count")
    window = number(details, "window_min")
    if seen is None or usual is None or window is None or window <= 0:
        return None
    noun = "request" if seen == 1 else "requests"
    return (
        f"{seen:.0f} {noun} in {window:.0f} min ({seen / window:.2g}/min)"
        f" vs usual {usual:.0f} ({usual / window:.2g}/min)"
    )


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
        text = f":rotating_light: Escalated (step {alert.escalation_step}): {headline(alert, esc)} is still {state(notification, esc)}"
    else:
        text = f":repeat: Seen again: {headline(alert, esc)}, {alert.occurrences} occurrences, last at {fmt_time(alert.last_seen)}"
    value = value_line(notification)
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


def _last_hour(series: LatencySeries | None) -> tuple[str, list[float]] | None:
    """The percentile the sparkline shows (p99, else p95, else p50) and its finite values of
    the hour before the series' last bucket."""
    if series is None:
        return None
    for label, values in (("p99", series.p99_ms), ("p95", series.p95_ms), ("p50", series.p50_ms)):
        if not values:
            continue
        if len(series.timestamps) == len(values):
            since = series.timestamps[-1] - SPARK_WINDOW
            values = tuple(v for t, v in zip(series.timestamps, values, strict=True) if t >= since)
        finite = [v for v in values if math.isfinite(v)]
        if finite:
            return label, finite
    return None


def sparkline(series: LatencySeries | None) -> str | None:
    """The last hour as block characters (`▁▂▃▅▇`), at most 60 wide, each character the worst
    value of its slice; None without data."""
    window = _last_hour(series)
    return None if window is None else spark(window[1], SPARK_WIDTH)


def sparkline_caption(series: LatencySeries | None) -> str | None:
    """`p99, last hour: 120 ms to 812 ms` for the values the sparkline shows."""
    window = _last_hour(series)
    if window is None:
        return None
    label, values = window
    return f"{label}, last hour: {ms(min(values))} to {ms(max(values))}"

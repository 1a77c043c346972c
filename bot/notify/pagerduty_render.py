"""PagerDuty Events API v2 events for alerts. `acknowledged` → `acknowledge`, `resolved` (or a
resolved alert) → `resolve`, everything else → `trigger` with the severity mapped (CRITICAL →
critical, WARNING → warning, INFO → info). `dedup_key` is the alert's fingerprint, so every
event about one alert lands on one PagerDuty alert; a fingerprint longer than PagerDuty's 255
characters is replaced by its SHA-256."""

import hashlib
import json
from typing import Any

from bot.models import AlertStatus, Severity
from bot.notify import Notification
from bot.notify import facts as f

MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255

SEVERITY = {Severity.CRITICAL: "critical", Severity.WARNING: "warning", Severity.INFO: "info"}

DETAIL_KEYS = (
    "value_ms",
    "baseline_p99_ms",
    "baseline_mean_ms",
    "threshold_ms",
    "degradation_pct",
    "outliers",
    "samples",
    "r",
)


def dedup_key(fingerprint: str) -> str:
    if len(fingerprint) <= MAX_DEDUP_KEY:
        return fingerprint
    return "sha256:" + hashlib.sha256(fingerprint.encode()).hexdigest()


def event_action(notification: Notification) -> str:
    if notification.event == "resolved" or notification.alert.status is AlertStatus.RESOLVED:
        return "resolve"
    if notification.event == "acknowledged":
        return "acknowledge"
    return "trigger"


def custom_details(notification: Notification) -> dict[str, Any]:
    """The numbers and facts on-call wants in the incident, JSON-able."""
    alert = notification.alert
    details: dict[str, Any] = {
        "alert_id": alert.id,
        "state": f.state(notification),
        "kind": alert.kind.value,
        "operations": list(alert.operation_types),
        "occurrences": alert.occurrences,
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
    }
    evidence = f.evidence(alert)
    if evidence:
        details["evidence"] = dict(evidence)
    for key in DETAIL_KEYS:
        value = f.number(alert.details, key)
        if value is not None:
            details[key] = value
    if alert.bottleneck is not None:
        details["bottleneck"] = alert.bottleneck.value
    for key, items in (("pairs", f.pairs(alert)), ("recommendations", f.recommendations(alert))):
        if items:
            details[key] = items
    if notification.children:
        details["grouped_alerts"] = [f.child_line(c) for c in notification.children]
    spark = f.sparkline(notification.series)
    if spark is not None:
        details["latency"] = f"{spark} {f.sparkline_caption(notification.series)}"
    if notification.mention:
        details["mention"] = list(notification.mention)
    return details


def render(notification: Notification, routing_key: str) -> dict[str, Any]:
    """The event body for `POST /v2/enqueue`."""
    alert = notification.alert
    action = event_action(notification)
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(alert.fingerprint),
    }
    if action != "trigger":
        return event
    tag = "TEST" if notification.event == "test" else alert.severity.value
    summary = f"[{tag}] {f.headline(alert)}"
    if alert.summary:
        summary += f": {alert.summary}"
    event["payload"] = {
        "summary": f.truncate(summary, MAX_SUMMARY),
        "source": "perfbot",
        "severity": SEVERITY[alert.severity],
        "timestamp": alert.last_seen.isoformat(),
        "component": f.operations(alert),
        "group": alert.bottleneck.value if alert.bottleneck is not None else alert.kind.family,
        "class": alert.kind.value,
        "custom_details": custom_details(notification),
    }
    if notification.links:
        event["links"] = [{"href": link.url, "text": link.label} for link in notification.links]
    event["client"] = "perfbot"
    return event


def json_bytes(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()

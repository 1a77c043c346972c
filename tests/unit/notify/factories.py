"""Alerts, series and notifications for the notifier tests."""

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.models import (
    Alert,
    AlertKind,
    AlertStatus,
    BottleneckType,
    EscalationPlan,
    EscalationStep,
    Severity,
)
from bot.notify import LatencySeries, Notification

T0 = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def make_alert(**overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "id": 42,
        "fingerprint": "anomaly:commit",
        "kind": AlertKind.STATISTICAL,
        "severity": Severity.CRITICAL,
        "status": AlertStatus.OPEN,
        "operation_types": ("commit",),
        "title": "commit latency anomaly",
        "summary": "commit p99 is 3.4x its baseline",
        "details": {
            "value_ms": 812.0,
            "baseline_p99_ms": 240.0,
            "baseline_mean_ms": 120.5,
            "threshold_ms": 600.0,
            "z_score": 5.21,
            "outliers": 7,
            "samples": 120,
            "statistical": {
                "rule": "robust",
                "severity": "CRITICAL",
                "z": 9.04,
                "value_ms": 812.0,
                "outliers": 42,
                "samples": 120,
                "window_s": 300,
                "window_median_ms": 29.8,
                "expected_median_ms": 4.93,
            },
        },
        "first_seen": T0,
        "last_seen": T0 + timedelta(minutes=5),
        "occurrences": 2,
        "plan": EscalationPlan(
            route="critical",
            channels=("oncall-slack",),
            steps=(
                EscalationStep(
                    after=timedelta(minutes=15), notify=("dba-pager",), mention=("dba-oncall",)
                ),
                EscalationStep(after=timedelta(minutes=30), mention=("@here",)),
            ),
        ),
        "created_at": T0,
        "updated_at": T0 + timedelta(minutes=5),
    }
    fields.update(overrides)
    return Alert(**fields)


def make_bottleneck(**overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "id": 50,
        "fingerprint": "bottleneck:branch_create+commit:OBJECT_STORAGE_IO",
        "kind": AlertKind.BOTTLENECK,
        "operation_types": ("commit", "branch_create"),
        "bottleneck": BottleneckType.OBJECT_STORAGE_IO,
        "title": "shared bottleneck: object storage I/O",
        "summary": "commit and branch_create slow down together",
        "details": {
            "r": 0.93,
            "pairs": [{"a": "commit", "b": "branch_create", "r": 0.93, "n": 48}],
            "recommendations": [
                "Check disk I/O latency on the object store",
                "Look for vacuum or checkpoints",
            ],
        },
    }
    fields.update(overrides)
    return make_alert(**fields)


def make_series(points: int = 30, *, operation: str = "commit") -> LatencySeries:
    times = tuple(T0 + timedelta(minutes=2 * i) for i in range(points))
    p50 = tuple(100.0 + i for i in range(points))
    p95 = tuple(150.0 + 3 * i for i in range(points))
    p99 = tuple(200.0 + 20 * i for i in range(points))
    return LatencySeries(
        operation,
        times,
        p50,
        p95,
        p99,
        baseline_p50_ms=100.0,
        baseline_p99_ms=240.0,
        threshold_ms=600.0,
    )


def make_notification(
    event: str = "fired", alert: Alert | None = None, **overrides: Any
) -> Notification:
    return Notification(event=event, alert=alert or make_alert(), **overrides)

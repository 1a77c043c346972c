"""Factories for domain values in tests: sensible defaults, override what the test is about."""

from datetime import UTC, datetime
from typing import Any

from bot.models import Alert, AlertKind, AlertStatus, EscalationPlan, Severity

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def make_alert(**overrides: Any) -> Alert:
    data: dict[str, Any] = {
        "id": 0,
        "fingerprint": "anomaly:commit",
        "kind": AlertKind.STATISTICAL,
        "severity": Severity.WARNING,
        "status": AlertStatus.OPEN,
        "operation_types": ("commit",),
        "title": "commit latency anomaly",
        "summary": "commit p99 120 ms vs baseline 40 ms",
        "details": {"value_ms": 120.0, "baseline_p99_ms": 40.0},
        "first_seen": T0,
        "last_seen": T0,
        "plan": EscalationPlan(route="default", channels=("console",)),
        "created_at": T0,
        "updated_at": T0,
    }
    data.update(overrides)
    return Alert.model_validate(data)

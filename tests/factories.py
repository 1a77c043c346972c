"""Factories for domain values in tests: sensible defaults, override what the test is about."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from bot.models import (
    Alert,
    AlertKind,
    AlertStatus,
    Anomaly,
    Correlation,
    EscalationPlan,
    Metric,
    NewAlert,
    Severity,
)

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


def make_anomaly(**overrides: Any) -> Anomaly:
    from datetime import timedelta

    from bot.models import AnomalyKind

    at = overrides.pop("detected_at", T0)
    data: dict[str, Any] = {
        "operation_type": "commit",
        "kind": AnomalyKind.STATISTICAL,
        "severity": Severity.WARNING,
        "detector": "robust",
        "z_score": 3.4,
        "value_ms": 120.0,
        "baseline_mean_ms": 20.0,
        "baseline_p99_ms": 40.0,
        "outliers": 4,
        "samples": 40,
        "window_start": at - timedelta(minutes=1),
        "window_end": at,
        "detected_at": at,
    }
    data.update(overrides)
    return Anomaly.model_validate(data)


def make_correlation(a: str, b: str, r: float = 0.93, **overrides: Any) -> Correlation:
    from datetime import timedelta

    from bot.models import BottleneckType

    first, second = sorted((a, b))
    at = overrides.pop("analyzed_at", T0)
    data: dict[str, Any] = {
        "operation_a": first,
        "operation_b": second,
        "r": r,
        "n": 120,
        "confidence": 1.0,
        "bottleneck": BottleneckType.MERGE_PIPELINE_SATURATION,
        "severity": Severity.CRITICAL if r >= 0.9 else Severity.WARNING,
        "recommendations": ("Increase merge worker threads",),
        "window_start": at - timedelta(hours=24),
        "window_end": at,
        "analyzed_at": at,
    }
    data.update(overrides)
    return Correlation.model_validate(data)


def make_new_alert(**overrides: Any) -> NewAlert:
    """An unstored alert, for store tests."""
    alert = make_alert(**overrides)
    return NewAlert.model_validate(alert.model_dump(include=set(NewAlert.model_fields)))


def latency_history(
    op: str,
    start: datetime,
    end: datetime,
    *,
    median_ms: float,
    per_minute: int = 20,
    seed: int = 0,
    factor: Callable[[datetime], float] | None = None,
) -> list[Metric]:
    """Log-normal latencies of `op`, `per_minute` a minute over [start, end) (start it on a
    minute boundary so every minute is whole), the median times `factor(minute)` if given."""
    rng = np.random.default_rng(seed)
    out = []
    t = start
    while t < end:
        scale = factor(t) if factor else 1.0
        for d in rng.lognormal(np.log(median_ms * scale), 0.4, per_minute):
            offset = timedelta(seconds=float(rng.uniform(0, 59.9)))
            out.append(Metric(operation_type=op, duration_ms=float(d), recorded_at=t + offset))
        t += timedelta(minutes=1)
    return out

"""Factories for routing tests: alerts, anomalies, correlations, silences, channels, routes,
deliveries."""

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import (
    ConsoleChannel,
    EmailChannel,
    MattermostChannel,
    PagerDutyChannel,
    Route,
    SlackChannel,
    WebhookChannel,
)
from bot.models import (
    ActorSource,
    Alert,
    AlertKind,
    AlertStatus,
    Anomaly,
    AnomalyKind,
    BottleneckType,
    Correlation,
    Delivery,
    DeliveryStatus,
    EscalationPlan,
    EscalationStep,
    Severity,
    Silence,
    SilenceMatch,
)
from bot.routing.candidate import AlertCandidate
from bot.routing.rules import Router, Rule
from bot.routing.transition import Actor

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ALICE = Actor(user_id="U024BE7LH", user_name="alice", source=ActorSource.SLACK)

ALL_CHANNELS: dict[str, Any] = {
    "oncall-slack": SlackChannel(type="slack", channel="#perf-alerts"),
    "oncall-mm": MattermostChannel(type="mattermost", channel_id="4xp9fdt7pbgium38k5k6hj9dhc"),
    "dba-email": EmailChannel(type="email", to=["dba@example.com"]),
    "pager": PagerDutyChannel(type="pagerduty"),
    "audit-hook": WebhookChannel.model_validate(
        {"type": "webhook", "url": "https://example.com/hook"}
    ),
    "terminal": ConsoleChannel(type="console"),
}


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def route(name: str, **data: Any) -> Rule:
    return Route.model_validate({"name": name, **data}).to_rule()


def router(
    routes: list[Rule] | None = None,
    channels: dict[str, Any] | None = None,
    repeat: timedelta | None = None,
) -> Router:
    return Router(tuple(routes or ()), ALL_CHANNELS if channels is None else channels, repeat)


def plan(
    channels: tuple[str, ...] = ("oncall-slack",),
    steps: tuple[EscalationStep, ...] = (),
    repeat: timedelta | None = None,
) -> EscalationPlan:
    return EscalationPlan(route="test", channels=channels, steps=steps, repeat_every=repeat)


def step(after_min: float, *notify: str, mention: tuple[str, ...] = ()) -> EscalationStep:
    return EscalationStep(after=minutes(after_min), notify=notify, mention=mention)


def make_alert(**overrides: Any) -> Alert:
    ops = overrides.get("operation_types", ("commit",))
    kind = overrides.get("kind", AlertKind.STATISTICAL)
    data: dict[str, Any] = {
        "id": 42,
        "fingerprint": f"{AlertKind(kind).family}:{','.join(sorted(ops))}",
        "kind": kind,
        "severity": Severity.WARNING,
        "status": AlertStatus.OPEN,
        "operation_types": ops,
        "title": "commit latency anomaly",
        "summary": "worst 48.0 ms",
        "first_seen": NOW - minutes(5),
        "last_seen": NOW - minutes(1),
        "plan": plan(),
        "notified_channels": ("oncall-slack",),
        "created_at": NOW - minutes(5),
        "updated_at": NOW - minutes(1),
    }
    data.update(overrides)
    return Alert.model_validate(data)


def make_anomaly(**overrides: Any) -> Anomaly:
    data: dict[str, Any] = {
        "id": 7,
        "operation_type": "commit",
        "kind": AnomalyKind.STATISTICAL,
        "severity": Severity.WARNING,
        "z_score": 5.2,
        "value_ms": 48.0,
        "baseline_mean_ms": 5.0,
        "baseline_p99_ms": 12.0,
        "outliers": 3,
        "samples": 120,
        "window_start": NOW - minutes(1),
        "window_end": NOW,
        "detected_at": NOW,
    }
    data.update(overrides)
    return Anomaly.model_validate(data)


def make_candidate(**overrides: Any) -> AlertCandidate:
    data: dict[str, Any] = {
        "kind": AlertKind.STATISTICAL,
        "severity": Severity.WARNING,
        "operation_types": ("commit",),
        "title": "commit latency anomaly",
        "summary": "worst 48.0 ms",
        "details": {"value_ms": 48.0},
        "detected_at": NOW,
    }
    data.update(overrides)
    return AlertCandidate.model_validate(data)


def make_correlation(a: str, b: str, r: float = 0.8, **overrides: Any) -> Correlation:
    data: dict[str, Any] = {
        "operation_a": min(a, b),
        "operation_b": max(a, b),
        "r": r,
        "n": 60,
        "confidence": 0.6,
        "bottleneck": BottleneckType.MERGE_PIPELINE_SATURATION,
        "severity": Severity.WARNING,
        "recommendations": ("Reduce merge concurrency",),
        "window_start": NOW - timedelta(hours=24),
        "window_end": NOW,
        "analyzed_at": NOW,
    }
    data.update(overrides)
    return Correlation.model_validate(data)


def make_silence(id: int = 3, expires_in: float = 60, **match: Any) -> Silence:
    return Silence(
        id=id,
        match=SilenceMatch.model_validate(match),
        created_by="alice",
        source=ActorSource.SLACK,
        created_at=NOW - minutes(10),
        expires_at=NOW + minutes(expires_in),
    )


def make_delivery(**overrides: Any) -> Delivery:
    """A WARNING `fired` delivery of alert #42 to `hook`, claimed for its first attempt."""
    data: dict[str, Any] = {
        "id": 9,
        "alert_id": 42,
        "channel": "hook",
        "event": "fired",
        "severity": Severity.WARNING,
        "status": DeliveryStatus.SENDING,
        "attempts": 1,
        "max_attempts": 5,
        "next_attempt_at": NOW,
        "created_at": NOW,
    }
    data.update(overrides)
    return Delivery.model_validate(data)

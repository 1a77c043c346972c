"""Alert candidates: what one detection cycle proposes to alert about, before de-duplication.

An `Anomaly` becomes a per-operation candidate; a `BottleneckCluster` (correlated pairs of one
bottleneck class that form a connected group) becomes one candidate for all its operations.
Titles and summaries are plain data (facts and numbers); each channel formats them itself.
`details` holds JSON-able numbers for renderers and the webhook payload."""

from collections.abc import Sequence
from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from bot.analysis.bottleneck import components
from bot.humanize import plural
from bot.models import (
    AlertKind,
    Anomaly,
    AnomalyKind,
    BottleneckType,
    Correlation,
    Frozen,
    Severity,
)
from bot.models.alerts import labels_of
from bot.routing.fingerprint import external_fingerprint, fingerprint


class AlertCandidate(Frozen):
    """A proposed alert. `operation_types` are distinct and sorted; `bottleneck` is set exactly
    for bottleneck candidates."""

    kind: AlertKind
    severity: Severity
    operation_types: tuple[str, ...] = ()
    bottleneck: BottleneckType | None = None
    key: str | None = None  # an external alert's identity at its source (Alertmanager's)
    title: str
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)
    detected_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> "AlertCandidate":
        if tuple(sorted(set(self.operation_types))) != self.operation_types:
            raise ValueError("operation_types must be distinct and sorted")
        if (self.kind is AlertKind.EXTERNAL) != (self.key is not None):
            raise ValueError("a key is given exactly for external candidates")
        if not self.operation_types and self.kind is not AlertKind.EXTERNAL:
            raise ValueError("a detection names at least one operation")
        if (self.kind is AlertKind.BOTTLENECK) != (self.bottleneck is not None):
            raise ValueError("a bottleneck is given exactly for bottleneck candidates")
        return self

    @property
    def fingerprint(self) -> str:
        if self.key is not None:
            return external_fingerprint(self.key)
        return fingerprint(self.kind, self.operation_types, self.bottleneck)

    @property
    def labels(self) -> dict[str, str]:
        return labels_of(self.details)


def _num(value: float | None, digits: int = 1) -> str:
    return "?" if value is None else f"{value:.{digits}f}"


def _part(details: dict[str, Any], key: str) -> dict[str, Any]:
    found = details.get(key)
    return found if isinstance(found, dict) else {}


def _summary(anomaly: Anomaly) -> str:
    """One line that agrees with the card: the figure of the rule that fired."""
    found = anomaly.details
    if anomaly.kind is AnomalyKind.DEGRADATION:
        return (
            f"p99 rose {_num(anomaly.degradation_pct)}% "
            f"(confidence {_num(anomaly.confidence, 2)}, {plural(anomaly.samples, 'sample')})"
        )
    spike = _part(found, "statistical")
    if anomaly.kind is AnomalyKind.THRESHOLD:
        line = _part(found, "threshold").get("threshold_ms")
        text = f"worst {_num(anomaly.value_ms)} ms over the threshold {_num(line)} ms"
        text += f", {anomaly.outliers} of {plural(anomaly.samples, 'request')}"
    elif spike.get("rule") == "robust" and spike.get("expected_median_ms"):
        median, usual = spike.get("window_median_ms"), spike.get("expected_median_ms")
        text = f"window median {_num(median)} ms vs {_num(usual)} ms usual for this hour"
        text += f", {anomaly.outliers} of {plural(anomaly.samples, 'request')} above the old p99"
    else:
        text = (
            f"worst {_num(anomaly.value_ms)} ms, {_num(anomaly.z_score)} standard deviations "
            f"from the reference mean, {anomaly.outliers} of {plural(anomaly.samples, 'request')}"
        )
    if anomaly.kind is AnomalyKind.COMBINED:
        text += f", during a {_num(anomaly.degradation_pct)}% degradation"
    return text


def from_anomaly(anomaly: Anomaly) -> AlertCandidate:
    """One candidate for one operation's anomaly, titled `commit latency anomaly` or
    `get_history slow degradation`."""
    op = anomaly.operation_type
    kind = AlertKind(anomaly.kind.value)
    if anomaly.kind in (AnomalyKind.TRAFFIC_DROP, AnomalyKind.SOURCE_SILENT):
        title, summary = traffic_text(anomaly)
    else:
        slow = "slow degradation" if anomaly.kind is AnomalyKind.DEGRADATION else "latency anomaly"
        title, summary = f"{op} {slow}", _summary(anomaly)
    details: dict[str, Any] = {
        "anomaly_id": anomaly.id,
        "detector": anomaly.detector,
        "value_ms": anomaly.value_ms,
        "baseline_mean_ms": anomaly.baseline_mean_ms,
        "baseline_p99_ms": anomaly.baseline_p99_ms,
        "z_score": anomaly.z_score,
        "deviation_pct": anomaly.deviation_pct,
        "degradation_pct": anomaly.degradation_pct,
        "trend_slope": anomaly.trend_slope,
        "confidence": anomaly.confidence,
        "outliers": anomaly.outliers,
        "samples": anomaly.samples,
        "window_start": anomaly.window_start.isoformat(),
        "window_end": anomaly.window_end.isoformat(),
    }
    # the per-rule findings (`bot.analysis.detection`): the cards' evidence (`bot.cards`)
    for part in ("statistical", "threshold", "degradation"):
        found = anomaly.details.get(part)
        if isinstance(found, dict):
            details[part] = found
    if anomaly.kind is AnomalyKind.DEGRADATION and "degradation" not in details:
        details["degradation"] = dict(anomaly.details)
    if anomaly.kind in (AnomalyKind.TRAFFIC_DROP, AnomalyKind.SOURCE_SILENT):
        details.update(anomaly.details)
    return AlertCandidate(
        kind=kind,
        severity=anomaly.severity,
        operation_types=(op,),
        title=title,
        summary=summary,
        details={k: v for k, v in details.items() if v is not None},
        detected_at=anomaly.detected_at,
    )


def traffic_text(anomaly: Anomaly) -> tuple[str, str]:
    """Title and summary of a traffic drop or a silent source: requests seen vs usual."""
    d = anomaly.details
    window = d.get("window_min", "?")
    seen, usual = d.get("observed_count", "?"), d.get("expected_count", "?")
    if anomaly.kind is AnomalyKind.SOURCE_SILENT:
        title = "source silent: no rows from any operation"
        summary = f"no rows in {window} min where {usual} requests are usual at this hour"
    else:
        title = f"{anomaly.operation_type} traffic drop"
        summary = f"{seen} requests in {window} min where {usual} are usual at this hour"
    return title, summary


class BottleneckCluster(Frozen):
    """Correlated pairs of one bottleneck class that form one connected group of operations."""

    bottleneck: BottleneckType
    correlations: tuple[Correlation, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_connected_class(self) -> "BottleneckCluster":
        if any(c.bottleneck is not self.bottleneck for c in self.correlations):
            raise ValueError("every correlation must have the cluster's bottleneck class")
        if len(components(self.correlations)) != 1:
            raise ValueError("the correlations must connect all their operations")
        return self

    @property
    def strongest_first(self) -> tuple[Correlation, ...]:
        return tuple(sorted(self.correlations, key=lambda c: (-c.r, c.operation_a, c.operation_b)))

    @property
    def operations(self) -> tuple[str, ...]:
        """The operations in order of first appearance, strongest correlation first."""
        return tuple(
            dict.fromkeys(op for c in self.strongest_first for op in (c.operation_a, c.operation_b))
        )

    @property
    def severity(self) -> Severity:
        return max(c.severity for c in self.correlations)


def clusters(correlations: Sequence[Correlation]) -> list[BottleneckCluster]:
    """Split correlations into clusters: per bottleneck class, one per connected group of
    operations. Ordered by class, then by the group's first operation name."""
    result = []
    for bottleneck in sorted({c.bottleneck for c in correlations}):
        same = [c for c in correlations if c.bottleneck is bottleneck]
        for pairs in components(same):
            result.append(BottleneckCluster(bottleneck=bottleneck, correlations=tuple(pairs)))
    return sorted(result, key=lambda k: (k.bottleneck.value, min(k.operations)))


def from_cluster(cluster: BottleneckCluster) -> AlertCandidate:
    """One candidate for the whole cluster, titled `MERGE_PIPELINE_SATURATION: merge_base_find,
    merge_branches, merge_conflict_detect` (operations sorted by name, so that the title does not
    change when the strongest pair does)."""
    ops = cluster.operations
    pairs = cluster.strongest_first
    top = pairs[0]
    recommendations = list(dict.fromkeys(r for c in pairs for r in c.recommendations))
    summary = (
        f"{plural(len(ops), 'operation')} slow together, {plural(len(pairs), 'correlated pair')}, "
        f"strongest r {top.r:.2f} ({top.operation_a} ~ {top.operation_b}, {plural(top.n, 'minute')})"
    )
    details: dict[str, Any] = {
        "r": top.r,
        "n": top.n,
        "confidence": max(c.confidence for c in pairs),
        "pairs": [
            {"a": c.operation_a, "b": c.operation_b, "r": c.r, "n": c.n, "id": c.id} for c in pairs
        ],
        "recommendations": recommendations,
        "correlation_ids": [c.id for c in pairs if c.id is not None],
    }
    return AlertCandidate(
        kind=AlertKind.BOTTLENECK,
        severity=cluster.severity,
        operation_types=tuple(sorted(ops)),
        bottleneck=cluster.bottleneck,
        title=f"{cluster.bottleneck.value}: {', '.join(sorted(ops))}",
        summary=summary,
        details=details,
        detected_at=max(c.analyzed_at for c in pairs),
    )

"""What analysis finds: per-operation baselines and their recalculations, anomalies, and
correlations between degraded operations that point at a shared bottleneck."""

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from bot.models.common import Frozen, Severity


class AnomalyKind(StrEnum):
    """What a detector found for one operation in one cycle."""

    STATISTICAL = "statistical"  # the new data is an outlier against the baseline
    DEGRADATION = "degradation"  # p99 of the recent half-window rose against the earlier half
    THRESHOLD = "threshold"  # a duration exceeded baseline p99 × multiplier
    COMBINED = "combined"  # an outlier during a degradation
    TRAFFIC_DROP = "traffic_drop"  # far fewer requests than usual for this hour
    SOURCE_SILENT = "source_silent"  # no rows at all while rows are due (operation "*")


class BottleneckType(StrEnum):
    MERGE_PIPELINE_SATURATION = "MERGE_PIPELINE_SATURATION"
    OBJECT_STORAGE_IO = "OBJECT_STORAGE_IO"
    QUERY_CACHE_PRESSURE = "QUERY_CACHE_PRESSURE"
    TRANSACTION_LOG_SATURATION = "TRANSACTION_LOG_SATURATION"
    SHARED_RESOURCE_CONTENTION = "SHARED_RESOURCE_CONTENTION"


class Baseline(Frozen):
    """The reference latency distribution of one operation over a window (usually 7 days)."""

    id: int | None = None
    operation_type: str
    sample_count: int
    mean_ms: float
    stddev_ms: float
    min_ms: float
    max_ms: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    mad_ms: float | None = None
    multiplier: float
    window_start: AwareDatetime
    window_end: AwareDatetime
    computed_at: AwareDatetime
    active: bool = True

    @property
    def threshold_ms(self) -> float:
        """Durations above this are threshold breaches: p99 × multiplier."""
        return self.p99_ms * self.multiplier


class BaselineChange(Frozen):
    """One recalculation of a baseline: replaced, or kept because p99 barely moved."""

    operation_type: str
    old_p99_ms: float | None
    new_p99_ms: float
    change_pct: float | None
    sample_count: int
    replaced: bool
    reason: str  # scheduled | manual | force | first


class Anomaly(Frozen):
    """What detection found for one operation in one cycle (never one per slow request)."""

    id: int | None = None
    operation_type: str
    kind: AnomalyKind
    severity: Severity
    detector: str = "zscore"  # zscore | robust | degradation | threshold
    z_score: float | None = None
    value_ms: float | None = None  # the worst duration in the window
    baseline_mean_ms: float | None = None
    baseline_p99_ms: float | None = None
    deviation_pct: float | None = None
    degradation_pct: float | None = None
    trend_slope: float | None = None  # ms per day, least squares over daily p99
    confidence: float | None = None
    outliers: int = 0
    samples: int = 0
    window_start: AwareDatetime
    window_end: AwareDatetime
    detected_at: AwareDatetime
    alert_id: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class Correlation(Frozen):
    """Two degraded operations whose per-minute latencies move together."""

    id: int | None = None
    operation_a: str
    operation_b: str
    r: float
    n: int
    confidence: float
    bottleneck: BottleneckType
    severity: Severity
    recommendations: tuple[str, ...]
    window_start: AwareDatetime
    window_end: AwareDatetime
    analyzed_at: AwareDatetime
    alert_id: int | None = None

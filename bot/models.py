"""Frozen domain models. Database rows are converted into these once, in the store; every layer
above sees only these values. All timestamps are timezone-aware UTC; all durations of
operations are milliseconds (`*_ms`)."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from bot.durations import Duration

MessageRef = dict[str, Any]
"""Where an alert's message lives on one channel, JSON-able: Slack {"channel", "ts"}, Mattermost
{"post_id"}, email {"message_id"}, PagerDuty {"dedup_key"}."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""A string PostgreSQL can store: `text` refuses NUL characters."""

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def _not_ancient(value: datetime) -> datetime:
    if value < EARLIEST:
        raise ValueError("must not be before 1970-01-01")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_not_ancient)]
"""When something measured happened: aware, and not before 1970. (asyncpg stores the year 1 as
-infinity and reads it back naive; nothing measured a pgGit operation before 1970.)"""


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank < other.rank
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank <= other.rank
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank > other.rank
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank >= other.rank
        return NotImplemented

    @classmethod
    def parse(cls, text: str) -> "Severity":
        """Case-insensitive; accepts `crit`, `warn` and `info` too."""
        key = text.strip().upper()
        aliases = {"CRIT": "CRITICAL", "WARN": "WARNING"}
        return cls(aliases.get(key, key))


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class AnomalyKind(StrEnum):
    """What a detector found for one operation in one cycle."""

    STATISTICAL = "statistical"  # the new data is an outlier against the baseline
    DEGRADATION = "degradation"  # p99 of the recent half-window rose against the earlier half
    THRESHOLD = "threshold"  # a duration exceeded baseline p99 × multiplier
    COMBINED = "combined"  # an outlier during a degradation


class AlertKind(StrEnum):
    """What an alert is about. The first four mirror `AnomalyKind`; `anomaly` in a route's
    `kind` matcher stands for the statistical, threshold and combined kinds together."""

    STATISTICAL = "statistical"
    THRESHOLD = "threshold"
    COMBINED = "combined"
    DEGRADATION = "degradation"
    BOTTLENECK = "bottleneck"
    MERGE = "merge"

    @property
    def family(self) -> str:
        """The de-duplication family: spikes of one operation (statistical, threshold,
        combined) share one open alert, `anomaly`; the others are their own family."""
        if self in (AlertKind.STATISTICAL, AlertKind.THRESHOLD, AlertKind.COMBINED):
            return "anomaly"
        return self.value


class BottleneckType(StrEnum):
    MERGE_PIPELINE_SATURATION = "MERGE_PIPELINE_SATURATION"
    OBJECT_STORAGE_IO = "OBJECT_STORAGE_IO"
    QUERY_CACHE_PRESSURE = "QUERY_CACHE_PRESSURE"
    TRANSACTION_LOG_SATURATION = "TRANSACTION_LOG_SATURATION"
    SHARED_RESOURCE_CONTENTION = "SHARED_RESOURCE_CONTENTION"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ActorSource(StrEnum):
    """Where an action came from, for the audit trail."""

    SLACK = "slack"
    MATTERMOST = "mattermost"
    CONSOLE = "console"
    CLI = "cli"
    API = "api"
    SYSTEM = "system"


class MergeStatus(StrEnum):
    SUCCESS = "SUCCESS"
    PARTIAL_SUCCESS = "PARTIAL_SUCCESS"
    FAILED = "FAILED"
    ABANDONED = "ABANDONED"
    CONFLICT = "CONFLICT"


class Metric(Frozen):
    """One timed operation."""

    operation_type: Text = Field(min_length=1, max_length=200)
    duration_ms: float = Field(ge=0, allow_inf_nan=False)
    recorded_at: Timestamp
    branch: Text | None = None
    user_name: Text | None = None


class MergeRecord(Frozen):
    """One pgGit merge: who merged which branches, how it ended, how long each phase took."""

    merge_id: Text | None = None
    source_branch: Text = Field(min_length=1)
    target_branch: Text = Field(min_length=1)
    status: MergeStatus
    strategy: Text | None = None
    conflicts: int = Field(default=0, ge=0)
    auto_resolved: int = Field(default=0, ge=0)
    auto_failed: int = Field(default=0, ge=0)
    base_find_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    conflict_detect_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    auto_resolve_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    total_ms: float = Field(ge=0, allow_inf_nan=False)
    started_at: Timestamp
    completed_at: Timestamp | None = None
    user_name: Text | None = None


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


class EscalationStep(Frozen):
    """After `after` without acknowledgement, notify `notify` (channel names) and mention
    `mention` (chat handles) in the alert's messages."""

    after: Duration = timedelta(0)
    notify: tuple[str, ...] = ()
    mention: tuple[str, ...] = ()


class EscalationPlan(Frozen):
    """Frozen into an alert when it fires: which route matched, where it was first sent, and the
    escalation steps. Editing config later cannot change a running escalation."""

    route: str
    channels: tuple[str, ...]
    steps: tuple[EscalationStep, ...] = ()
    repeat_every: Duration | None = None


class NewAlert(Frozen):
    """An alert decided on but not stored yet; `stored(id)` gives the `Alert`."""

    fingerprint: str
    kind: AlertKind
    severity: Severity
    status: AlertStatus = AlertStatus.OPEN
    operation_types: tuple[str, ...]
    bottleneck: BottleneckType | None = None
    title: str
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    occurrences: int = 1
    parent_id: int | None = None
    silence_id: int | None = None
    plan: EscalationPlan
    escalation_step: int = 0  # how many of `plan.steps` have run
    next_escalation_at: AwareDatetime | None = None
    # Channels that were sent a message about this alert, in first-sent order; later events
    # (acknowledged, escalated, resolved) go to these so messages are edited in place.
    notified_channels: tuple[str, ...] = ()
    created_at: AwareDatetime
    updated_at: AwareDatetime

    def stored(self, alert_id: int) -> "Alert":
        return Alert(id=alert_id, **self.model_dump())


class Alert(NewAlert):
    """One open (or past) problem that on-call is told about; repeats update it in place."""

    id: int
    acknowledged_by: str | None = None
    acknowledged_at: AwareDatetime | None = None
    ack_severity: Severity | None = None
    resolved_at: AwareDatetime | None = None
    resolved_by: str | None = None
    version: int = 1


class AlertEvent(Frozen):
    """One row of the append-only audit trail."""

    id: int | None = None
    alert_id: int | None
    at: AwareDatetime
    actor: str
    source: ActorSource
    action: str
    details: dict[str, Any] = Field(default_factory=dict)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class Delivery(Frozen):
    """One message to one channel about one alert event; a row of the outbox."""

    id: int
    alert_id: int
    channel: str
    event: str  # fired | updated | acknowledged | unacknowledged | escalated | resolved | repeat
    severity: Severity
    status: DeliveryStatus
    attempts: int
    max_attempts: int
    next_attempt_at: AwareDatetime
    is_fallback: bool = False
    mention: tuple[str, ...] = ()
    last_error: str | None = None
    last_status: int | None = None
    created_at: AwareDatetime
    sent_at: AwareDatetime | None = None


class SilenceMatch(Frozen):
    """What a silence mutes. Every given field must match; `operation` is a glob."""

    operation: str | None = None
    kind: str | None = None
    severity: Severity | None = None
    bottleneck: BottleneckType | None = None
    alert_id: int | None = None


class NewSilence(Frozen):
    """A silence decided on but not stored yet."""

    match: SilenceMatch
    reason: str | None = None
    created_by: str
    source: ActorSource
    created_at: AwareDatetime
    expires_at: AwareDatetime


class Silence(NewSilence):
    id: int
    ended_at: AwareDatetime | None = None

    def active_at(self, now: datetime) -> bool:
        return self.ended_at is None and self.created_at <= now < self.expires_at


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class JobRun(Frozen):
    id: int
    job: str
    slot: AwareDatetime
    status: JobStatus
    owner: str
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    duration_ms: float | None = None
    rows: int | None = None
    error: str | None = None

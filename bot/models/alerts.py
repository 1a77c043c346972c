"""Alerts: what one is about, its status, the escalation plan frozen into it when it fires,
and the append-only audit trail of what happened to it."""

from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from bot.durations import Duration
from bot.models.common import ActorSource, Frozen, Severity
from bot.models.findings import BottleneckType


def labels_of(details: dict[str, Any]) -> dict[str, str]:
    """The string labels kept in an alert's `details["labels"]` (external alerts)."""
    labels = details.get("labels")
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


class AlertKind(StrEnum):
    """What an alert is about. The first six mirror `AnomalyKind`; `anomaly` in a route's
    `kind` matcher stands for the statistical, threshold and combined kinds together."""

    STATISTICAL = "statistical"
    THRESHOLD = "threshold"
    COMBINED = "combined"
    DEGRADATION = "degradation"
    TRAFFIC_DROP = "traffic_drop"
    SOURCE_SILENT = "source_silent"
    BOTTLENECK = "bottleneck"
    MERGE = "merge"
    EXTERNAL = "external"  # from another monitor (Alertmanager), labels in `details["labels"]`

    @property
    def family(self) -> str:
        """The de-duplication family: spikes of one operation (statistical, threshold,
        combined) share one open alert, `anomaly`; the others are their own family."""
        if self in (AlertKind.STATISTICAL, AlertKind.THRESHOLD, AlertKind.COMBINED):
            return "anomaly"
        return self.value


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


PAGE_PREFIXES = ("oncall:", "person:")


class EscalationStep(Frozen):
    """After `after` without acknowledgement, notify `notify` (channel names), mention
    `mention` (chat handles) in the alert's messages and page `page`: people, as
    `oncall:<schedule>` (whoever is on call when the step runs) or `person:<people id>`. In
    the configuration these may be written among `notify`; they are moved to `page`."""

    after: Duration = timedelta(0)
    notify: tuple[str, ...] = ()
    mention: tuple[str, ...] = ()
    page: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _people_in_notify(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("notify"), list | tuple):
            return data
        notify = [str(n) for n in data["notify"]]
        people = [n for n in notify if n.startswith(PAGE_PREFIXES)]
        if not people:
            return data
        page = [str(p) for p in data.get("page", ())]
        return {
            **data,
            "notify": [n for n in notify if n not in people],
            "page": list(dict.fromkeys([*page, *people])),
        }


class Paged(Frozen):
    """A person an escalation step paged, frozen into the alert: who (`person`, a people id,
    and `name`), through which schedule (`schedule`, None when the step named the person),
    when, and the step (1-based) that did it."""

    person: str
    name: str
    schedule: str | None = None
    at: AwareDatetime
    step: int


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
    # People escalation paged (`EscalationStep.page`), in order; shown on the alert's card.
    paged: tuple[Paged, ...] = ()
    created_at: AwareDatetime
    updated_at: AwareDatetime

    @property
    def labels(self) -> dict[str, str]:
        """An external alert's labels (routes and silences match them); empty otherwise."""
        return labels_of(self.details)

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

    @property
    def shown_state(self) -> str:
        """What the alert's messages show of its state (status, severity, escalation step,
        silence, parent), as one short string: a button drawn for another one is stale. The
        `version` also moves with counters that do not re-draw messages."""
        return (
            f"{self.status.value}/{self.severity.value}/{self.escalation_step}/"
            f"{self.silence_id or 0}/{self.parent_id or 0}"
        )


class AlertEvent(Frozen):
    """One row of the append-only audit trail."""

    id: int | None = None
    alert_id: int | None
    at: AwareDatetime
    actor: str
    source: ActorSource
    action: str
    details: dict[str, Any] = Field(default_factory=dict)

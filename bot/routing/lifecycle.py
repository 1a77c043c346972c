"""Alert lifecycle decisions for one detection: fire a new alert (`fire`), update the open one
(`update`), or only record the detection; and auto-resolve after a quiet period. Grouping is in
`grouping`.

Process a cycle's candidates one at a time and persist each decision before deciding the next
(or re-read `related`), so that two candidates of one cycle see each other's alerts.

Each decision lists its audit events and the deliveries to enqueue. Below `min_severity`
(WARNING by default) a detection creates no alert; it still keeps an existing alert alive,
since the problem is still seen. The rules of firing and updating are in `fire` and `update`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.models import Alert, AlertKind, AlertStatus, Frozen, Severity, Silence
from bot.routing import fire, transition, update
from bot.routing.candidate import AlertCandidate
from bot.routing.fire import Fire, recurrence_counts
from bot.routing.rules import Router
from bot.routing.transition import Transition
from bot.routing.update import Update

__all__ = [
    "Decision",
    "Fire",
    "LifecyclePolicy",
    "Record",
    "Update",
    "auto_resolve",
    "decide",
    "recurrence_counts",
]


@dataclass(frozen=True)
class LifecyclePolicy:
    """The `alerts:` settings the lifecycle needs, with perfbot's defaults: the one source of
    them (`bot.config.alerts` takes its defaults from here)."""

    resolve_after: timedelta = timedelta(minutes=30)
    recurrence: int = 3
    recurrence_window: timedelta = timedelta(hours=1)
    min_severity: Severity = Severity.WARNING


class Record(Frozen):
    """No alert: keep the detection only."""

    reason: str


Decision = Fire | Update | Record


def decide(
    candidate: AlertCandidate,
    *,
    related: Sequence[Alert],
    recent: Mapping[str, int],
    silences: Sequence[Silence],
    router: Router,
    policy: LifecyclePolicy,
    now: datetime,
) -> Decision:
    """What to do with `candidate` at `now`. `related`: every unresolved alert sharing an
    operation with it; `recent`: `recurrence_counts` over the recurrence window."""
    current = update.target(candidate, related)
    if current is not None:
        return update.update(candidate, current, related, silences, router, now)
    if candidate.severity < policy.min_severity:
        return Record(
            reason=f"{candidate.severity} is below alerts.min_severity {policy.min_severity}"
        )
    return fire.fire(
        candidate,
        now,
        related=related,
        silences=silences,
        router=router,
        recent=recent,
        recurrence=policy.recurrence,
        window=policy.recurrence_window,
    )


def auto_resolve(
    alert: Alert, now: datetime, policy: LifecyclePolicy, parent: Alert | None = None
) -> Transition | None:
    """`alert` resolved when nothing was detected for `resolve_after` (None before that, and
    always for an external alert, which its source resolves), with
    a resolved notice, even for a silenced alert. A grouped child instead edits its `parent`'s
    message (if given) unless it has messages of its own."""
    if alert.status is AlertStatus.RESOLVED or now - alert.last_seen < policy.resolve_after:
        return None
    if alert.kind is AlertKind.EXTERNAL:
        return None  # its source resolves it (Alertmanager re-sends only every repeat_interval)
    resolved = transition.resolved(alert, now, "perfbot")
    sends = transition.sends(transition.resolved_channels(alert), "resolved", alert_id=alert.id)
    if not sends and parent is not None and parent.status is not AlertStatus.RESOLVED:
        sends = transition.sends(parent.notified_channels, "updated", alert_id=parent.id)
    quiet = (now - alert.last_seen).total_seconds()
    return Transition(
        alert=resolved,
        events=(transition.event(alert.id, "resolved", now, automatic=True, quiet_s=quiet),),
        sends=sends,
        note=f"{transition.ref(alert)} resolved: nothing detected for {int(quiet // 60)} min",
    )

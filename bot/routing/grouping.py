"""Grouping: a bottleneck alert gathers the open per-operation alerts of its operations
(anomaly family and degradation) as children, "one page, not five". A child does not escalate
and pages nobody; its updates edit the parent's message, and its own messages (if it paged
before it was grouped) say where it went. When the parent resolves first, `release` gives an
open child back its own paging."""

from collections.abc import Sequence
from datetime import datetime

from bot.models import Alert, AlertKind, AlertStatus
from bot.routing import escalation, transition
from bot.routing.candidate import AlertCandidate
from bot.routing.rules import Routable
from bot.routing.transition import Transition


def parent_for(subject: AlertCandidate, related: Sequence[Alert]) -> Alert | None:
    """The open, unsilenced bottleneck alert that `subject` (a per-operation candidate) belongs
    under: the most severe, then the oldest; None if there is none."""
    if subject.kind in (AlertKind.BOTTLENECK, AlertKind.MERGE, AlertKind.EXTERNAL):
        return None
    parents = [
        a
        for a in related
        if a.kind is AlertKind.BOTTLENECK
        and a.status is not AlertStatus.RESOLVED
        and a.parent_id is None
        and a.silence_id is None
        and set(subject.operation_types) <= set(a.operation_types)
    ]
    return min(parents, key=lambda a: (-a.severity.rank, a.id), default=None)


def group_children(parent: Routable, open_alerts: Sequence[Alert]) -> list[int]:
    """Ids of the open per-operation alerts (anomaly family and degradation) whose operations
    all belong to bottleneck `parent` and that are not grouped yet, ascending."""
    ops = set(parent.operation_types)
    own = parent.id if isinstance(parent, Alert) else None
    return sorted(
        a.id
        for a in open_alerts
        if a.id != own
        and a.kind not in (AlertKind.BOTTLENECK, AlertKind.MERGE, AlertKind.EXTERNAL)
        and a.status is not AlertStatus.RESOLVED
        and a.parent_id is None
        and set(a.operation_types) <= ops
    )


def attach(child: Alert, parent_id: int, now: datetime) -> Transition:
    """`child` grouped under alert `parent_id`: it stops escalating; its existing messages are
    edited to say where it went."""
    grouped = transition.evolve(child, now, parent_id=parent_id, next_escalation_at=None)
    return Transition(
        alert=grouped,
        events=(transition.event(child.id, "grouped", now, parent_id=parent_id),),
        sends=transition.sends(child.notified_channels, "updated", alert_id=child.id),
        note=f"{transition.ref(child)} grouped under alert #{parent_id}",
    )


def release(child: Alert, now: datetime) -> Transition:
    """`child` on its own again (its parent resolved while it is still open): it pages if it
    never did, else resumes escalating. Unchanged otherwise."""
    alone = transition.evolve(child, now, parent_id=None)
    event = transition.event(child.id, "released", now, parent_id=child.parent_id)
    if alone.status is not AlertStatus.OPEN or alone.silence_id is not None:
        return Transition(alert=alone, events=(event,), note=f"{transition.ref(child)} released")
    if alone.notified_channels:
        resumed = transition.evolve(alone, now, next_escalation_at=escalation.resume_at(alone, now))
        sends = transition.sends(alone.notified_channels, "updated", alert_id=child.id)
    else:
        page = escalation.begin(alone.plan, now)
        resumed = transition.evolve(
            alone,
            now,
            notified_channels=page.channels,
            escalation_step=page.step,
            next_escalation_at=page.next_at,
        )
        sends = transition.sends(page.channels, "fired", page.mention, child.id)
    resumed = resumed.model_copy(update={"version": child.version + 1})
    return Transition(
        alert=resumed, events=(event,), sends=sends, note=f"{transition.ref(child)} released"
    )

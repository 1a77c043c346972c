"""Updating the open alert that a new detection repeats (see `lifecycle.decide`).

Rules (the decision lists its audit events and the deliveries to enqueue):
* one open alert per fingerprint, and one per bottleneck class and cluster: a bottleneck that
  grows (two merge operations, then three) stays one alert, not a new page;
* a repeat adds an occurrence, refreshes `last_seen`, title, summary and details, and severity
  only rises;
* a severity rise pages again (`escalated`): the plan is re-resolved for the new severity (the
  frozen plan belongs to the severity it fired at), escalation restarts, and an acknowledged
  alert re-opens: acknowledging stops repeats but not worsening;
* otherwise messages are edited (`updated`) when occurrences reach 2, 5, 10, 20, 50, 100, …
  so that a minute-by-minute detection does not edit every message every minute; occurrences
  are not audited one by one (the anomalies table has them);
* a silenced alert stays muted (a matching silence mutes it now), a grouped child edits its
  parent's message only when its line there changes (`parent_sees`), and a bottleneck that spread to more operations adopts the alerts under it.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.models import Alert, AlertKind, AlertStatus, Silence
from bot.routing import escalation, grouping, transition
from bot.routing import silence as silences_
from bot.routing.candidate import AlertCandidate
from bot.routing.rules import Router, unique
from bot.routing.transition import Send, Transition


class Update(Transition):
    """The open alert's new state; `changes` names what on-call would notice; `children` are
    alerts to group under it with `attach` (a bottleneck that spread to more operations)."""

    changes: tuple[str, ...] = ()
    children: tuple[int, ...] = ()


def target(candidate: AlertCandidate, related: Sequence[Alert]) -> Alert | None:
    """The open alert among `related` that `candidate` updates, if any: the one with its
    fingerprint; failing that, for a bottleneck, the oldest open bottleneck alert of the same
    class that shares an operation with it (a cluster that grows stays one alert)."""
    current = next(
        (
            a
            for a in related
            if a.fingerprint == candidate.fingerprint and a.status is not AlertStatus.RESOLVED
        ),
        None,
    )
    if current is not None or candidate.kind is not AlertKind.BOTTLENECK:
        return current
    ops = set(candidate.operation_types)
    same = [
        a
        for a in related
        if a.kind is AlertKind.BOTTLENECK
        and a.bottleneck is candidate.bottleneck
        and a.status is not AlertStatus.RESOLVED
        and ops & set(a.operation_types)
    ]
    return min(same, key=lambda a: a.id, default=None)


def _notable(occurrences: int) -> bool:
    """2, 5, 10, 20, 50, 100, …: the counts worth an edit."""
    digits = str(occurrences)
    return occurrences >= 2 and digits[0] in "125" and set(digits[1:]) <= {"0"}


def parent_sees(before: Alert, after: Alert) -> bool:
    """Whether a grouped child's change shows on its parent's card, which lists each child as
    `#id SEVERITY title (status)`: a child's occurrences or numbers do not, so a bottleneck's
    parent is not edited once per member and cycle with the same text."""
    return (before.severity, before.title, before.status) != (
        after.severity,
        after.title,
        after.status,
    )


def update(
    candidate: AlertCandidate,
    alert: Alert,
    related: Sequence[Alert],
    silences: Sequence[Silence],
    router: Router,
    now: datetime,
) -> Update:
    """`alert` (the `target` of `candidate`) after the repeat at `now`. `related`: every
    unresolved alert sharing an operation with `candidate`."""
    severity = max(alert.severity, candidate.severity)
    rose = severity > alert.severity
    details: dict[str, Any] = {**candidate.details}
    if "recurrence" in alert.details:
        details["recurrence"] = alert.details["recurrence"]
    operations = tuple(sorted(set(alert.operation_types) | set(candidate.operation_types)))
    spread = operations != tuple(sorted(alert.operation_types))
    fresh = transition.evolve(
        alert,
        now,
        kind=candidate.kind,
        severity=severity,
        operation_types=operations,
        occurrences=alert.occurrences + 1,
        last_seen=max(alert.last_seen, candidate.detected_at),
        details=details,
        title=candidate.title,
        summary=candidate.summary,
    )
    changes: tuple[str, ...] = ("severity",) if rose else ()
    if spread:
        changes += ("operations",)
    if _notable(fresh.occurrences):
        changes += ("occurrences",)
    events = []
    if rose:
        events.append(
            transition.event(
                alert.id,
                "severity_raised",
                now,
                previous=alert.severity.value,
                severity=severity.value,
            )
        )
    children: tuple[int, ...] = ()
    if spread and fresh.kind is AlertKind.BOTTLENECK and fresh.silence_id is None:
        children = tuple(grouping.group_children(fresh, related))
    result = _route_update(fresh, alert, rose, changes, related, silences, router, now)
    final = result.alert.model_copy(update={"version": alert.version + 1})
    return Update(
        alert=final,
        events=(*events, *result.events),
        sends=result.sends,
        changes=changes,
        children=children,
        note=result.note,
    )


def _route_update(
    fresh: Alert,
    alert: Alert,
    rose: bool,
    changes: tuple[str, ...],
    related: Sequence[Alert],
    silences: Sequence[Silence],
    router: Router,
    now: datetime,
) -> Transition:
    """Who hears about an update: the parent (for a child), nobody (silenced), everyone again
    (worse), or an edit of the existing messages (notable)."""
    ref = transition.ref(alert)
    if fresh.parent_id is not None:
        parent = next((a for a in related if a.id == fresh.parent_id), None)
        targets = (
            [Send(channel=c, event="updated", alert_id=parent.id) for c in parent.notified_channels]
            if parent and parent_sees(alert, fresh)
            else []
        )
        own = (
            transition.sends(fresh.notified_channels, "updated", alert_id=alert.id)
            if changes
            else ()
        )
        return Transition(alert=fresh, sends=(*targets, *own), note=f"{ref} updated (grouped)")
    muting = silences_.matching_silence(fresh, silences, now)
    if muting is not None:
        if fresh.silence_id is None:
            return silences_.mute(fresh, muting, now)
        wake = muting.expires_at if fresh.status is AlertStatus.OPEN else None
        kept = transition.evolve(fresh, now, silence_id=muting.id, next_escalation_at=wake)
        return Transition(alert=kept, note=f"{ref} updated (silenced)")
    if rose:
        return _repage(fresh, router, now)
    if fresh.silence_id is not None:
        return escalation.unmute(fresh, now, reason="silence ended")
    sends = (
        transition.sends(fresh.notified_channels, "updated", alert_id=alert.id) if changes else ()
    )
    return Transition(alert=fresh, sends=sends, note=f"{ref} updated")


def _repage(alert: Alert, router: Router, now: datetime) -> Transition:
    """Page again at the alert's (risen) severity, with the plan for that severity."""
    route = router.resolve(alert)
    page = escalation.begin(route.plan, now)
    channels = unique([*alert.notified_channels, *page.channels])
    events = []
    if alert.status is AlertStatus.ACKNOWLEDGED:
        events.append(
            transition.event(
                alert.id,
                "reopened",
                now,
                acknowledged_by=alert.acknowledged_by,
                ack_severity=alert.ack_severity.value if alert.ack_severity else None,
            )
        )
    if alert.silence_id is not None:
        events.append(
            transition.event(
                alert.id, "unsilenced", now, silence_id=alert.silence_id, reason="worsened"
            )
        )
    repaged = transition.reopened(
        alert,
        now,
        silence_id=None,
        plan=route.plan,
        escalation_step=page.step,
        next_escalation_at=page.next_at,
        notified_channels=channels,
    )
    return Transition(
        alert=repaged,
        events=tuple(events),
        sends=transition.sends(channels, "escalated", page.mention, alert.id),
        note=f"{transition.ref(alert)} worsened to {alert.severity}: paged {', '.join(channels) or 'nobody'}",
    )

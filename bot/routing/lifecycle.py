"""Alert lifecycle decisions for one detection: fire a new alert, update the open one, or only
record the detection; and auto-resolve after a quiet period. Grouping is in `grouping`.

Process a cycle's candidates one at a time and persist each decision before deciding the next
(or re-read `related`), so that two candidates of one cycle see each other's alerts.

Rules (each decision lists its audit events and the deliveries to enqueue):
* one open alert per fingerprint; a repeat adds an occurrence, refreshes `last_seen`, title,
  summary and details, and severity only rises;
* below `min_severity` (WARNING by default) a detection creates no alert; it still keeps an
  existing alert alive, since the problem is still seen;
* the `recurrence`-th alert (3rd by default) naming an operation within `recurrence_window`
  (1 h) fires as CRITICAL;
* a severity rise pages again (`escalated`): the plan is re-resolved for the new severity (the
  frozen plan belongs to the severity it fired at), escalation restarts, and an acknowledged
  alert re-opens: acknowledging stops repeats but not worsening;
* otherwise messages are edited (`updated`) when occurrences reach 2, 5, 10, 20, 50, 100, …
  so that a minute-by-minute detection does not edit every message every minute; occurrences
  are not audited one by one (the anomalies table has them);
* a matching silence mutes (the alert exists, sends nothing, still sends its resolved notice);
* a per-operation alert whose operations are all under an open bottleneck alert becomes its
  child: no pages of its own, the parent's message is edited to list it ("one page, not five").
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertStatus,
    Frozen,
    NewAlert,
    Severity,
    Silence,
)
from bot.routing import escalation, grouping, transition
from bot.routing import silence as silences_
from bot.routing.candidate import AlertCandidate
from bot.routing.rules import RouteDecision, Router, unique
from bot.routing.transition import Send, Transition


class LifecyclePolicy(Frozen):
    """The `alerts:` settings the lifecycle needs."""

    resolve_after: timedelta = timedelta(minutes=30)
    recurrence: int = 3
    recurrence_window: timedelta = timedelta(hours=1)
    min_severity: Severity = Severity.WARNING


class Fire(Frozen):
    """Store `alert`, then append `events` and enqueue `sends` (alert_id None = this alert),
    then group `children` under it with `attach`."""

    alert: NewAlert
    route: RouteDecision
    events: tuple[AlertEvent, ...]
    sends: tuple[Send, ...]
    children: tuple[int, ...] = ()
    note: str


class Update(Transition):
    """The open alert's new state; `changes` names what on-call would notice; `children` are
    alerts to group under it with `attach` (a bottleneck that spread to more operations)."""

    changes: tuple[str, ...] = ()
    children: tuple[int, ...] = ()


class Record(Frozen):
    """No alert: keep the detection only."""

    reason: str


Decision = Fire | Update | Record


def recurrence_counts(alerts: Iterable[Alert], now: datetime, window: timedelta) -> dict[str, int]:
    """Per operation, how many of `alerts` naming it were created within `window` before `now`."""
    counts: dict[str, int] = {}
    for alert in alerts:
        if now - window <= alert.created_at <= now:
            for op in set(alert.operation_types):
                counts[op] = counts.get(op, 0) + 1
    return counts


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
    current = next(
        (
            a
            for a in related
            if a.fingerprint == candidate.fingerprint and a.status is not AlertStatus.RESOLVED
        ),
        None,
    )
    if current is None and candidate.kind is AlertKind.BOTTLENECK:
        current = _same_bottleneck(candidate, related)
    if current is not None:
        return _update(candidate, current, related, silences, router, now)
    if candidate.severity < policy.min_severity:
        return Record(
            reason=f"{candidate.severity} is below alerts.min_severity {policy.min_severity}"
        )
    return _fire(candidate, related, recent, silences, router, policy, now)


def _same_bottleneck(candidate: AlertCandidate, related: Sequence[Alert]) -> Alert | None:
    """The open bottleneck alert of the same class that shares an operation with `candidate`:
    a cluster that grows (two merge operations, then three) stays one alert, not a new page."""
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


def _fire(
    candidate: AlertCandidate,
    related: Sequence[Alert],
    recent: Mapping[str, int],
    silences: Sequence[Silence],
    router: Router,
    policy: LifecyclePolicy,
    now: datetime,
) -> Fire:
    events = []
    nth = 1 + max((recent.get(op, 0) for op in candidate.operation_types), default=0)
    subject = candidate
    if nth >= policy.recurrence and candidate.severity < Severity.CRITICAL:
        details = {**candidate.details, "recurrence": nth}
        subject = candidate.model_copy(update={"severity": Severity.CRITICAL, "details": details})
        events.append(
            transition.event(
                None,
                "severity_raised",
                now,
                reason="recurrence",
                nth=nth,
                window_s=policy.recurrence_window.total_seconds(),
                previous=candidate.severity.value,
                severity=Severity.CRITICAL.value,
            )
        )
    route = router.resolve(subject)
    events.insert(
        0, transition.event(None, "fired", now, route=route.route, severity=subject.severity.value)
    )
    draft = NewAlert(
        fingerprint=subject.fingerprint,
        kind=subject.kind,
        severity=subject.severity,
        operation_types=subject.operation_types,
        bottleneck=subject.bottleneck,
        title=subject.title,
        summary=subject.summary,
        details=subject.details,
        first_seen=subject.detected_at,
        last_seen=subject.detected_at,
        plan=route.plan,
        created_at=now,
        updated_at=now,
    )
    parent = grouping.parent_for(subject, related)
    muting = silences_.matching_silence(subject, silences, now)
    sends: tuple[Send, ...] = ()
    children: tuple[int, ...] = ()
    if parent is not None:
        draft = draft.model_copy(
            update={"parent_id": parent.id, "silence_id": muting.id if muting else None}
        )
        events.append(transition.event(None, "grouped", now, parent_id=parent.id))
        sends = transition.sends(parent.notified_channels, "updated", alert_id=parent.id)
        note = f"grouped under alert #{parent.id}"
    elif muting is not None:
        draft = draft.model_copy(
            update={"silence_id": muting.id, "next_escalation_at": muting.expires_at}
        )
        events.append(transition.event(None, "silenced", now, silence_id=muting.id))
        note = f"silenced by silence #{muting.id}: nothing sent"
    else:
        page = escalation.begin(route.plan, now)
        draft = draft.model_copy(
            update={
                "notified_channels": page.channels,
                "escalation_step": page.step,
                "next_escalation_at": page.next_at,
            }
        )
        sends = transition.sends(page.channels, "fired", page.mention)
        note = f"fired to {', '.join(page.channels) or 'nobody'} (route {route.route})"
        if subject.kind is AlertKind.BOTTLENECK:
            children = tuple(grouping.group_children(subject, related))
    return Fire(
        alert=draft, route=route, events=tuple(events), sends=sends, children=children, note=note
    )


def auto_resolve(
    alert: Alert, now: datetime, policy: LifecyclePolicy, parent: Alert | None = None
) -> Transition | None:
    """`alert` resolved when nothing was detected for `resolve_after` (None before that), with
    a resolved notice, even for a silenced alert. A grouped child instead edits its `parent`'s
    message (if given) unless it has messages of its own."""
    if alert.status is AlertStatus.RESOLVED or now - alert.last_seen < policy.resolve_after:
        return None
    resolved = transition.evolve(
        alert,
        now,
        status=AlertStatus.RESOLVED,
        resolved_at=now,
        resolved_by="perfbot",
        next_escalation_at=None,
    )
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


def _notable(occurrences: int) -> bool:
    """2, 5, 10, 20, 50, 100, …: the counts worth an edit."""
    digits = str(occurrences)
    return occurrences >= 2 and digits[0] in "125" and set(digits[1:]) <= {"0"}


def _update(
    candidate: AlertCandidate,
    alert: Alert,
    related: Sequence[Alert],
    silences: Sequence[Silence],
    router: Router,
    now: datetime,
) -> Update:
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
            if parent and changes
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
    repaged = transition.evolve(
        alert,
        now,
        status=AlertStatus.OPEN,
        acknowledged_by=None,
        acknowledged_at=None,
        ack_severity=None,
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

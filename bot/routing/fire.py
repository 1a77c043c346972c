"""Firing a new alert for a detection that no open alert covers (see `lifecycle.decide`).

Rules (the decision lists its audit events and the deliveries to enqueue):
* the `recurrence`-th alert (3rd by default) naming an operation within `recurrence_window`
  (1 h) fires as CRITICAL;
* the plan is resolved for the severity it fires at and frozen into the alert; the first page
  goes out with the steps due at once;
* a matching silence mutes (the alert exists, sends nothing, still sends its resolved notice);
* a per-operation alert whose operations are all under an open bottleneck alert becomes its
  child: no pages of its own, the parent's message is edited to list it ("one page, not five");
* a new bottleneck alert adopts the open per-operation alerts under it as its children."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.models import Alert, AlertEvent, AlertKind, Frozen, NewAlert, Severity, Silence
from bot.routing import escalation, grouping, transition
from bot.routing import silence as silences_
from bot.routing.candidate import AlertCandidate
from bot.routing.rules import RouteDecision, Router
from bot.routing.transition import Send


class Fire(Frozen):
    """Store `alert`, then append `events` and enqueue `sends` (alert_id None = this alert),
    then group `children` under it with `attach`."""

    alert: NewAlert
    route: RouteDecision
    events: tuple[AlertEvent, ...]
    sends: tuple[Send, ...]
    children: tuple[int, ...] = ()
    note: str


def recurrence_counts(alerts: Iterable[Alert], now: datetime, window: timedelta) -> dict[str, int]:
    """Per operation, how many of `alerts` naming it were created within `window` before `now`."""
    counts: dict[str, int] = {}
    for alert in alerts:
        if now - window <= alert.created_at <= now:
            for op in set(alert.operation_types):
                counts[op] = counts.get(op, 0) + 1
    return counts


def fire(
    candidate: AlertCandidate,
    now: datetime,
    *,
    related: Sequence[Alert],
    silences: Sequence[Silence],
    router: Router,
    recent: Mapping[str, int],
    recurrence: int,
    window: timedelta,
) -> Fire:
    """The new alert for `candidate` at `now`. `related`: every unresolved alert sharing an
    operation with it; `recent`: `recurrence_counts` over `window`; the `recurrence`-th alert
    naming one of its operations fires as CRITICAL."""
    events = []
    nth = 1 + max((recent.get(op, 0) for op in candidate.operation_types), default=0)
    subject = candidate
    if nth >= recurrence and candidate.severity < Severity.CRITICAL:
        details = {**candidate.details, "recurrence": nth}
        subject = candidate.model_copy(update={"severity": Severity.CRITICAL, "details": details})
        events.append(
            transition.event(
                None,
                "severity_raised",
                now,
                reason="recurrence",
                nth=nth,
                window_s=window.total_seconds(),
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

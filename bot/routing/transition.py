"""The values every routing decision returns, so the store layer only has to persist them.

* `Send`: one delivery to enqueue (channel, event, mentions, which alert);
* `Actor`: who did something and from where (`ActorSource`), for the audit trail;
* `Transition`: an alert's new state, the audit events to append and the sends to enqueue;
* `NewAlert` (from `bot.models`): an alert that is not stored yet (the store assigns its id).

Delivery events are the notifier's: `fired` (first message), `updated` (edit in place),
`acknowledged`, `unacknowledged`, `escalated` (page again: a new message where there is none,
an edit plus a notice where there is), `resolved`, `repeat` (reminder of an unacknowledged
alert)."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from bot.models import (
    ActorSource,
    Alert,
    AlertEvent,
    AlertStatus,
    Frozen,
)

DeliveryEvent = Literal[
    "fired", "updated", "acknowledged", "unacknowledged", "escalated", "resolved", "repeat"
]


class Send(Frozen):
    """Enqueue `event` about alert `alert_id` for `channel`; `alert_id` None means the alert the
    decision creates (the store fills in its new id)."""

    channel: str
    event: DeliveryEvent
    mention: tuple[str, ...] = ()
    alert_id: int | None = None


class Actor(Frozen):
    """A person (chat user id and/or name) or perfbot itself, and where the action came from."""

    user_id: str | None = None
    user_name: str | None = None
    source: ActorSource = ActorSource.SYSTEM

    @property
    def label(self) -> str:
        """The name to show and to store as the audit `actor`."""
        return self.user_name or self.user_id or "unknown"


SYSTEM = Actor(user_name="perfbot", source=ActorSource.SYSTEM)


class Transition(Frozen):
    """An alert's state after an action or a timer, with what to record and what to send.
    `note` is a one-line, user-safe description ("alert #42 acknowledged by alice")."""

    alert: Alert
    events: tuple[AlertEvent, ...] = ()
    sends: tuple[Send, ...] = ()
    note: str = ""


def event(
    alert_id: int | None, action: str, now: datetime, actor: Actor = SYSTEM, **details: Any
) -> AlertEvent:
    """An audit event; `details` must be JSON-able."""
    return AlertEvent(
        alert_id=alert_id,
        at=now,
        actor=actor.label,
        source=actor.source,
        action=action,
        details={**({"user_id": actor.user_id} if actor.user_id else {}), **details},
    )


def evolve(alert: Alert, now: datetime, **changes: Any) -> Alert:
    """`alert` with `changes`, its version bumped and `updated_at` set to `now`; validated."""
    data = alert.model_dump()
    data.update(changes, version=alert.version + 1, updated_at=now)
    return Alert.model_validate(data)


def reopened(alert: Alert, now: datetime, **changes: Any) -> Alert:
    """`alert` open again with its acknowledgement cleared (and `changes`), via `evolve`."""
    return evolve(
        alert,
        now,
        status=AlertStatus.OPEN,
        acknowledged_by=None,
        acknowledged_at=None,
        ack_severity=None,
        **changes,
    )


def resolved(alert: Alert, now: datetime, by: str) -> Alert:
    """`alert` resolved by `by` at `now`, its escalation stopped, via `evolve`."""
    return evolve(
        alert,
        now,
        status=AlertStatus.RESOLVED,
        resolved_at=now,
        resolved_by=by,
        next_escalation_at=None,
    )


def sends(
    channels: Iterable[str],
    event_name: DeliveryEvent,
    mention: tuple[str, ...] = (),
    alert_id: int | None = None,
) -> tuple[Send, ...]:
    """One `Send` per distinct channel, in order."""
    return tuple(
        Send(channel=c, event=event_name, mention=mention, alert_id=alert_id)
        for c in dict.fromkeys(channels)
    )


def notice_channels(alert: Alert) -> tuple[str, ...]:
    """Where lifecycle notices (acknowledged, escalated, …) about `alert` go: the channels that
    already have its message, so they are edited in place."""
    return alert.notified_channels


def resolved_channels(alert: Alert) -> tuple[str, ...]:
    """Where the resolved notice goes: the channels that have the alert's message; for a
    silenced top-level alert that never sent anything, the channels it would have paged
    (peers' users ask for a resolved notice of muted alerts). Grouped children that never
    sent anything send nothing: their parent's message lists them."""
    if alert.notified_channels:
        return alert.notified_channels
    if alert.silence_id is not None and alert.parent_id is None:
        return alert.plan.channels
    return ()


def ref(alert: Alert) -> str:
    return f"alert #{alert.id}"

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
from bot.routing import permission

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
    """A person (chat user id and display name) or perfbot itself, and where the action came
    from. Who they are is `ident`, the platform-qualified id (`slack:U024BE7LH`, `console`);
    the name is only shown beside it."""

    user_id: str | None = None
    user_name: str | None = None
    source: ActorSource = ActorSource.SYSTEM

    @property
    def ident(self) -> str | None:
        """The qualified identity that permissions are checked against, or None (perfbot itself,
        or a chat request without a well-formed user id)."""
        if self.source in (ActorSource.CONSOLE, ActorSource.CLI):
            return permission.CONSOLE
        if self.source in (ActorSource.SLACK, ActorSource.MATTERMOST):
            return permission.identity(self.source.value, self.user_id)
        return None

    @property
    def label(self) -> str:
        """`alice (slack:U024BE7LH)`: what the audit trail stores as the actor and notes show."""
        return permission.label(self.ident, self.user_name)


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
        details={**_who(actor), **details},
    )


def _who(actor: Actor) -> dict[str, str]:
    """The audit details that say who acted: the qualified id and the name given with it."""
    who = {"user_id": actor.ident} if actor.ident else {}
    name = permission.display_name(actor.user_name)
    return who | ({"user_name": name} if name and actor.ident else {})


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

"""What people do to alerts from buttons and commands: acknowledge, unacknowledge, escalate,
resolve, silence and unsilence. Each returns the new state, one audit event (who, when, from
where) and the deliveries that edit the alert's existing messages in place; an action that
makes no sense in the alert's state raises `InvalidTransition` with a user-safe message.
Whether the user may act at all is `bot.routing.permission.permitted`."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import errors
from bot.models import Alert, AlertEvent, AlertStatus, Frozen, NewSilence, Silence, SilenceMatch
from bot.routing import escalation, permission, transition
from bot.routing import silence as silences_
from bot.routing.paging import Directory
from bot.routing.transition import Actor, Transition


def _refuse_resolved(alert: Alert) -> None:
    if alert.status is AlertStatus.RESOLVED:
        raise errors.InvalidTransition(f"{transition.ref(alert)} is already resolved")


def acknowledge(alert: Alert, actor: Actor, now: datetime) -> Transition:
    """Stop escalation and reminders; remember the severity at ack time so that a worsening
    re-pages (see `update`)."""
    _refuse_resolved(alert)
    if alert.status is AlertStatus.ACKNOWLEDGED:
        raise errors.InvalidTransition(
            f"{transition.ref(alert)} is already acknowledged by {alert.acknowledged_by}"
        )
    acked = transition.evolve(
        alert,
        now,
        status=AlertStatus.ACKNOWLEDGED,
        acknowledged_by=actor.label,
        acknowledged_at=now,
        ack_severity=alert.severity,
        next_escalation_at=None,
    )
    return Transition(
        alert=acked,
        events=(
            transition.event(alert.id, "acknowledged", now, actor, severity=alert.severity.value),
        ),
        sends=transition.sends(
            transition.notice_channels(alert), "acknowledged", alert_id=alert.id
        ),
        note=f"{transition.ref(alert)} acknowledged by {actor.label}",
    )


def unacknowledge(alert: Alert, actor: Actor, now: datetime) -> Transition:
    """Back to open; escalation resumes from the step it had reached (the wait restarts).
    Taking back someone else's acknowledgement is said so in the note and the audit event,
    with both identities."""
    if alert.status is not AlertStatus.ACKNOWLEDGED:
        raise errors.InvalidTransition(f"{transition.ref(alert)} is not acknowledged")
    reopened = alert.model_copy(update={"status": AlertStatus.OPEN})
    next_at = escalation.resume_at(reopened, now) if escalation.escalates(reopened) else None
    if alert.silence_id is not None and alert.parent_id is None:
        next_at = now  # the next tick re-checks the silence and sleeps until it ends
    opened = transition.reopened(alert, now, next_escalation_at=next_at)
    acker = permission.owner(alert.acknowledged_by)
    others = acker is None or acker != actor.ident
    note = f"{transition.ref(alert)} is open again"
    if others:
        note += f": {actor.label} unacked {alert.acknowledged_by or 'someone'}'s ack"
    return Transition(
        alert=opened,
        events=(
            transition.event(
                alert.id,
                "unacknowledged",
                now,
                actor,
                acknowledged_by=alert.acknowledged_by,
                acknowledged_by_id=acker,
                others_ack=others,
            ),
        ),
        sends=transition.sends(
            transition.notice_channels(alert), "unacknowledged", alert_id=alert.id
        ),
        note=note,
    )


ESCALATE_AGAIN_AFTER = timedelta(minutes=1)
"""An alert escalated (by anyone, or by its own timer) less than this ago is not paged again."""


def escalate(
    alert: Alert,
    actor: Actor,
    now: datetime,
    last_escalated: AlertEvent | None = None,
    directory: Directory = escalation.NOBODY,
) -> Transition:
    """Run the next escalation step now; past the last step re-notify it (`note` says which).
    Refused when `last_escalated` (the alert's latest `escalated` event) is under a minute old:
    a repeated or replayed escalate does not page twice."""
    _refuse_resolved(alert)
    if last_escalated is not None and now - last_escalated.at < ESCALATE_AGAIN_AFTER:
        ago = max(0, int((now - last_escalated.at).total_seconds()))
        raise errors.InvalidTransition(
            f"{transition.ref(alert)} was already escalated "
            f"(by {last_escalated.actor}, {ago} s ago); not paging again"
        )
    if alert.parent_id is not None:
        raise errors.InvalidTransition(
            f"{transition.ref(alert)} is grouped under alert #{alert.parent_id}; "
            f"escalate #{alert.parent_id} instead"
        )
    if alert.silence_id is not None:
        raise errors.InvalidTransition(
            f"{transition.ref(alert)} is silenced (silence #{alert.silence_id}); unsilence it first"
        )
    return escalation.escalate_now(alert, actor, now, directory)


def resolve(alert: Alert, actor: Actor, now: datetime, note: str | None = None) -> Transition:
    """Resolved by a person; the resolved notice goes where the alert was sent (for a muted
    alert, where it would have been). A new detection later fires a new alert."""
    _refuse_resolved(alert)
    resolved = transition.resolved(alert, now, actor.label)
    details = {"note": note} if note else {}
    return Transition(
        alert=resolved,
        events=(transition.event(alert.id, "resolved", now, actor, automatic=False, **details),),
        sends=transition.sends(transition.resolved_channels(alert), "resolved", alert_id=alert.id),
        note=f"{transition.ref(alert)} resolved by {actor.label}",
    )


class SilenceCreated(Frozen):
    """Store `silence`, append `event` (alert_id is the silenced alert, if any), then apply it
    to the open alerts with `apply_silence`."""

    silence: NewSilence
    event: AlertEvent
    note: str


def silence(
    match: SilenceMatch, actor: Actor, now: datetime, duration: timedelta, reason: str | None = None
) -> SilenceCreated:
    """A new silence for `duration`; raises BadArguments for an unusable match or duration."""
    created = silences_.new_silence(match, actor, now, duration, reason)
    what = silences_.describe(match)
    return SilenceCreated(
        silence=created,
        event=transition.event(
            match.alert_id,
            "silence_created",
            now,
            actor,
            match=match.model_dump(mode="json", exclude_none=True),
            expires_at=created.expires_at.isoformat(),
            reason=reason,
        ),
        note=f"silenced {what} until {created.expires_at:%Y-%m-%d %H:%M} UTC",
    )


SAME_SILENCE_END = timedelta(minutes=5)
"""Two silences by one person with the same matchers that end within this of each other are
the same silence: the second is not made (a repeated or replayed command or click)."""


def duplicate_silence(new: NewSilence, active: Sequence[Silence]) -> Silence | None:
    """The active silence that `new` would duplicate (same matchers, same creator and source,
    ends within `SAME_SILENCE_END`), if any."""
    return next(
        (
            s
            for s in active
            if s.match == new.match
            and s.created_by == new.created_by
            and s.source is new.source
            and abs(s.expires_at - new.expires_at) <= SAME_SILENCE_END
        ),
        None,
    )


def apply_silence(
    silence: Silence, alerts: Sequence[Alert], now: datetime, actor: Actor
) -> list[Transition]:
    """Mute each unresolved, not yet silenced alert that `silence` matches."""
    return [
        silences_.mute(a, silence, now, actor)
        for a in alerts
        if a.status is not AlertStatus.RESOLVED
        and a.silence_id is None
        and silence.active_at(now)
        and silences_.matches(silence.match, a)
    ]


def unsilence(silence: Silence, actor: Actor, now: datetime) -> tuple[Silence, AlertEvent]:
    """`silence` ended now, and its audit event; raises InvalidTransition if it already ended."""
    if silence.ended_at is not None or now >= silence.expires_at:
        raise errors.InvalidTransition(f"silence #{silence.id} has already ended")
    ended = silence.model_copy(update={"ended_at": now})
    return ended, transition.event(
        silence.match.alert_id, "silence_ended", now, actor, silence_id=silence.id
    )


def lift_silence(
    ended: Silence,
    alerts: Sequence[Alert],
    silences: Sequence[Silence],
    now: datetime,
    actor: Actor,
) -> list[Transition]:
    """The alerts that `ended` was muting: moved to another matching silence, or unmuted (an
    open alert that never paged pages now)."""
    result = []
    for alert in alerts:
        if alert.silence_id != ended.id or alert.status is AlertStatus.RESOLVED:
            continue
        other = silences_.matching_silence(alert, [s for s in silences if s.id != ended.id], now)
        if other is not None:
            result.append(silences_.mute(alert, other, now, actor))
        else:
            result.append(
                escalation.unmute(alert, now, reason=f"silence #{ended.id} ended", actor=actor)
            )
    return result

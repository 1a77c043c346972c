"""Repeated (or replayed) actions do not act twice: an escalate within a minute of the last
escalation is refused with who and when, and a silence identical to an active one (same
matchers, creator and source, ending within five minutes of it) is not made again."""

from datetime import timedelta

import pytest

from bot import errors
from bot.models import ActorSource, Alert, AlertEvent, NewSilence, SilenceMatch
from bot.routing import actions
from bot.routing.transition import SYSTEM, Actor
from tests.unit.routing.factories import ALICE, NOW, make_alert, make_silence, plan, step

BOB = Actor(user_id="U0BOB", user_name="bob", source=ActorSource.MATTERMOST)


def escalated(seconds_ago: float, by: Actor = BOB) -> AlertEvent:
    return AlertEvent(
        alert_id=42,
        at=NOW - timedelta(seconds=seconds_ago),
        actor=by.label,
        source=by.source,
        action="escalated",
    )


def alert_with_steps() -> Alert:
    return make_alert(
        notified_channels=("oncall",), plan=plan(("oncall",), (step(10, "pager"), step(30, "dba")))
    )


@pytest.mark.parametrize(
    ("last", "refusal"),
    [
        (escalated(0), "alert #42 was already escalated (by bob, 0 s ago); not paging again"),
        (escalated(12.7), "alert #42 was already escalated (by bob, 12 s ago); not paging again"),
        (escalated(59.9), "alert #42 was already escalated (by bob, 59 s ago); not paging again"),
        (
            escalated(30, by=SYSTEM),
            "alert #42 was already escalated (by perfbot, 30 s ago); not paging again",
        ),
        (escalated(60), None),
        (escalated(3600), None),
        (None, None),
    ],
)
def test_escalate_within_a_minute_of_the_last_escalation_is_refused(
    last: AlertEvent | None, refusal: str | None
) -> None:
    alert = alert_with_steps()
    if refusal is None:
        result = actions.escalate(alert, ALICE, NOW, last)
        assert result.alert.escalation_step == 1
        assert {s.event for s in result.sends} == {"escalated"}
        return
    with pytest.raises(errors.InvalidTransition) as refused:
        actions.escalate(alert, ALICE, NOW, last)
    assert str(refused.value).lower() == refusal


def new_silence(
    minutes: float = 60, by: str = "alice", source: ActorSource = ActorSource.SLACK, **match: object
) -> NewSilence:
    return NewSilence(
        match=SilenceMatch.model_validate(match or {"alert_id": 42}),
        created_by=by,
        source=source,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=minutes),
    )


ACTIVE = make_silence(id=7, expires_in=60, alert_id=42)  # by alice on Slack, ends NOW + 60 min


@pytest.mark.parametrize(
    ("new", "same"),
    [
        (new_silence(), True),
        (new_silence(minutes=64), True),  # a replay a few minutes later
        (new_silence(minutes=56), True),
        (new_silence(minutes=66), False),  # a longer silence is a new one
        (new_silence(minutes=120), False),
        (new_silence(by="bob"), False),
        (new_silence(source=ActorSource.MATTERMOST), False),
        (new_silence(alert_id=43), False),
        (new_silence(alert_id=42, severity="WARNING"), False),
    ],
)
def test_an_identical_active_silence_is_found(new: NewSilence, same: bool) -> None:
    found = actions.duplicate_silence(new, [make_silence(id=2, operation="merge"), ACTIVE])
    assert found == (ACTIVE if same else None)

from collections.abc import Callable

import pytest

from bot import errors
from bot.models import ActorSource, Alert, AlertStatus, SilenceMatch
from bot.routing import actions
from bot.routing.transition import Actor, Transition
from tests.unit.routing.factories import ALICE, NOW, make_alert, make_silence, minutes, plan, step

NOTIFIED = ("oncall-mm", "oncall-slack")


def open_alert(**overrides: object) -> Alert:
    fields: dict[str, object] = {
        "notified_channels": NOTIFIED,
        "plan": plan(NOTIFIED, (step(10, "pager"), step(30, "dba-email"))),
        "next_escalation_at": NOW + minutes(4),
    }
    fields.update(overrides)
    return make_alert(**fields)


def test_acknowledge_stops_escalation_and_edits_messages() -> None:
    result = actions.acknowledge(open_alert(), ALICE, NOW)
    alert = result.alert
    assert (
        alert.status,
        alert.acknowledged_by,
        alert.acknowledged_at,
        alert.ack_severity,
        alert.next_escalation_at,
    ) == (
        AlertStatus.ACKNOWLEDGED,
        "alice (slack:U024BE7LH)",
        NOW,
        alert.severity,
        None,
    )
    assert [(s.channel, s.event, s.alert_id) for s in result.sends] == [
        (c, "acknowledged", 42) for c in NOTIFIED
    ]
    [event] = result.events
    assert (event.alert_id, event.action, event.actor, event.source, event.at) == (
        42,
        "acknowledged",
        "alice (slack:U024BE7LH)",
        ActorSource.SLACK,
        NOW,
    )
    assert event.details["user_id"] == "slack:U024BE7LH"
    assert result.note == "alert #42 acknowledged by alice (slack:U024BE7LH)"


def test_unacknowledge_resumes_escalation() -> None:
    acked = actions.acknowledge(open_alert(escalation_step=1), ALICE, NOW).alert
    result = actions.unacknowledge(acked, ALICE, NOW + minutes(1))
    assert (result.alert.status, result.alert.acknowledged_by) == (AlertStatus.OPEN, None)
    assert result.alert.next_escalation_at == NOW + minutes(
        21
    )  # the 20 min wait before step 2 restarts
    assert {s.event for s in result.sends} == {"unacknowledged"}


def test_unacknowledge_of_a_silenced_alert_lets_the_tick_recheck_the_silence() -> None:
    acked = actions.acknowledge(open_alert(silence_id=3), ALICE, NOW).alert
    assert actions.unacknowledge(acked, ALICE, NOW).alert.next_escalation_at == NOW


def test_escalate_runs_the_next_step_now() -> None:
    result = actions.escalate(open_alert(), ALICE, NOW)
    assert result.alert.escalation_step == 1
    assert [(s.channel, s.event) for s in result.sends] == [
        ("oncall-mm", "escalated"),
        ("oncall-slack", "escalated"),
        ("pager", "escalated"),
    ]
    assert result.events[0].action == "escalated"


def test_resolve_sends_resolved_notices() -> None:
    result = actions.resolve(open_alert(), ALICE, NOW, note="vacuumed")
    assert (result.alert.status, result.alert.resolved_by, result.alert.next_escalation_at) == (
        AlertStatus.RESOLVED,
        "alice (slack:U024BE7LH)",
        None,
    )
    assert {s.event for s in result.sends} == {"resolved"}
    assert result.events[0].details == {
        "user_id": "slack:U024BE7LH",
        "user_name": "alice",
        "automatic": False,
        "note": "vacuumed",
    }


ACK = actions.acknowledge
UNACK = actions.unacknowledge
ESC = actions.escalate
RES = actions.resolve


@pytest.mark.parametrize(
    ("action", "overrides", "message"),
    [
        (ACK, {"status": AlertStatus.RESOLVED}, "alert #42 is already resolved"),
        (
            ACK,
            {"status": AlertStatus.ACKNOWLEDGED, "acknowledged_by": "bob"},
            "alert #42 is already acknowledged by bob",
        ),
        (UNACK, {}, "alert #42 is not acknowledged"),
        (UNACK, {"status": AlertStatus.RESOLVED}, "alert #42 is not acknowledged"),
        (ESC, {"status": AlertStatus.RESOLVED}, "alert #42 is already resolved"),
        (ESC, {"parent_id": 7}, "alert #42 is grouped under alert #7; escalate #7 instead"),
        (ESC, {"silence_id": 3}, r"alert #42 is silenced \(silence #3\); unsilence it first"),
        (RES, {"status": AlertStatus.RESOLVED}, "alert #42 is already resolved"),
    ],
)
def test_invalid_transitions_raise_user_safe_errors(
    action: Callable[[Alert, Actor, object], Transition], overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(errors.InvalidTransition, match=f"^{message}$"):
        action(open_alert(**overrides), ALICE, NOW)


def test_silence_then_apply_to_open_alerts() -> None:
    created = actions.silence(SilenceMatch(operation="merge*"), ALICE, NOW, minutes(60), "deploy")
    assert created.silence.expires_at == NOW + minutes(60)
    assert (created.event.action, created.event.actor, created.event.details["match"]) == (
        "silence_created",
        "alice (slack:U024BE7LH)",
        {"operation": "merge*"},
    )
    stored = make_silence(id=9, expires_in=60, operation="merge*")
    alerts = [
        open_alert(id=1, operation_types=("merge_branches",)),
        open_alert(id=2, operation_types=("commit",)),
        open_alert(id=3, operation_types=("merge",), status=AlertStatus.RESOLVED),
        open_alert(id=4, operation_types=("merge",), silence_id=8),
    ]
    muted = actions.apply_silence(stored, alerts, NOW, ALICE)
    assert [(t.alert.id, t.alert.silence_id, t.alert.next_escalation_at) for t in muted] == [
        (1, 9, stored.expires_at)
    ]


def test_unsilence_lifts_or_moves_to_another_silence() -> None:
    ending = make_silence(id=9, operation="merge*")
    other = make_silence(id=10, kind="anomaly")
    ended, event = actions.unsilence(ending, ALICE, NOW)
    assert ended.ended_at == NOW
    assert event.action == "silence_ended"
    alerts = [
        open_alert(id=1, operation_types=("merge_branches",), silence_id=9, notified_channels=()),
        open_alert(
            id=2,
            operation_types=("merge_branches",),
            silence_id=9,
            kind="degradation",
            notified_channels=(),
        ),
        open_alert(id=3, operation_types=("merge",), silence_id=10),
    ]
    lifted = actions.lift_silence(ended, alerts, [ended, other], NOW, ALICE)
    assert [(t.alert.id, t.alert.silence_id) for t in lifted] == [(1, 10), (2, None)]
    assert [(s.channel, s.event) for s in lifted[1].sends] == [
        ("oncall-mm", "fired"),
        ("oncall-slack", "fired"),
    ]
    with pytest.raises(errors.InvalidTransition, match="silence #9 has already ended"):
        actions.unsilence(ended, ALICE, NOW)

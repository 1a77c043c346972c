from datetime import datetime, timedelta

import pytest

from bot.models import Alert, AlertStatus, EscalationPlan
from bot.routing.escalation import begin, escalate_now, resume_at, tick
from bot.routing.rules import resolve
from tests.unit.routing.factories import (
    ALICE,
    ALL_CHANNELS,
    NOW,
    make_alert,
    make_candidate,
    make_silence,
    minutes,
    plan,
    route,
    step,
)

PLAN = plan(
    channels=("oncall-slack",),
    steps=(
        step(10, "oncall-mm", mention=("@dba",)),
        step(30, "pager", mention=("@lead",)),
        step(60, "dba-email"),
    ),
)
FIRED = NOW


def fired(**overrides: object) -> Alert:
    """An alert that fired at FIRED with PLAN: step 0 is due at FIRED + 10 min."""
    fields: dict[str, object] = {
        "plan": PLAN,
        "escalation_step": 0,
        "next_escalation_at": FIRED + minutes(10),
        "notified_channels": ("oncall-slack",),
        "created_at": FIRED,
    }
    fields.update(overrides)
    return make_alert(**fields)


def test_begin_merges_immediate_steps_into_first_page() -> None:
    p = plan(("a",), (step(0, "b", mention=("@x",)), step(0, "a", "c"), step(5, "d")))
    page = begin(p, NOW)
    assert (page.channels, page.mention, page.step, page.next_at) == (
        ("a", "b", "c"),
        ("@x",),
        2,
        NOW + minutes(5),
    )


@pytest.mark.parametrize(
    ("p", "next_at"),
    [
        (plan(("a",)), None),
        (plan(("a",), repeat=minutes(20)), NOW + minutes(20)),
        (plan(("a",), (step(0, "b"),), repeat=minutes(20)), NOW + minutes(20)),
    ],
)
def test_begin_without_timed_steps(p: EscalationPlan, next_at: datetime | None) -> None:
    assert begin(p, NOW).next_at == next_at


@pytest.mark.parametrize(
    ("at", "expected_step", "expected_next", "channels", "mention"),
    [
        (FIRED + minutes(9), None, None, None, None),  # not due
        (FIRED + minutes(10), 1, FIRED + minutes(30), ("oncall-slack", "oncall-mm"), ("@dba",)),
        (FIRED + minutes(12), 1, FIRED + minutes(30), ("oncall-slack", "oncall-mm"), ("@dba",)),
        # a late tick runs every step already due at once, keeping the plan's cadence
        (
            FIRED + minutes(45),
            2,
            FIRED + minutes(60),
            ("oncall-slack", "oncall-mm", "pager"),
            ("@dba", "@lead"),
        ),
        (
            FIRED + minutes(90),
            3,
            None,
            ("oncall-slack", "oncall-mm", "pager", "dba-email"),
            ("@dba", "@lead"),
        ),
    ],
)
def test_tick_runs_due_steps(
    at: datetime,
    expected_step: int | None,
    expected_next: datetime | None,
    channels: tuple[str, ...] | None,
    mention: tuple[str, ...] | None,
) -> None:
    result = tick(fired(), [], at)
    if expected_step is None:
        assert result is None
        return
    assert result is not None
    assert (result.alert.escalation_step, result.alert.next_escalation_at) == (
        expected_step,
        expected_next,
    )
    assert result.alert.notified_channels == channels
    assert [(s.channel, s.event, s.mention, s.alert_id) for s in result.sends] == [
        (c, "escalated", mention, 42) for c in channels
    ]
    assert [e.action for e in result.events] == ["escalated"]
    assert result.events[0].details["automatic"] is True


def test_escalation_walks_the_plan_step_by_step() -> None:
    alert = fired()
    seen = []
    for minute in range(120):
        result = tick(alert, [], FIRED + minutes(minute))
        if result is not None:
            alert = result.alert
            seen.append((minute, alert.escalation_step))
    assert seen == [(10, 1), (30, 2), (60, 3)]
    assert alert.next_escalation_at is None


def test_repeat_after_last_step_for_open_alerts() -> None:
    alert = fired(
        plan=PLAN.model_copy(update={"repeat_every": minutes(20)}),
        escalation_step=3,
        next_escalation_at=FIRED + minutes(80),
        notified_channels=("oncall-slack", "pager"),
    )
    result = tick(alert, [], FIRED + minutes(81))
    assert result is not None
    assert result.alert.next_escalation_at == FIRED + minutes(101)
    assert [(s.channel, s.event, s.mention) for s in result.sends] == [
        ("oncall-slack", "repeat", ()),
        ("pager", "repeat", ()),
    ]
    assert [e.action for e in result.events] == ["repeated"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"status": AlertStatus.ACKNOWLEDGED},
        {"status": AlertStatus.RESOLVED},
        {"parent_id": 7},
    ],
)
def test_acknowledged_resolved_and_children_never_escalate(overrides: dict[str, object]) -> None:
    result = tick(fired(**overrides), [], FIRED + minutes(45))
    assert result is not None
    assert result.sends == ()
    assert result.events == ()
    assert result.alert.next_escalation_at is None
    assert result.alert.escalation_step == 0


def test_frozen_plan_ignores_later_route_changes() -> None:
    routes_at_fire = [
        route("r", notify=["oncall-slack"], escalation=[{"after": "10m", "notify": ["pager"]}])
    ]
    decision = resolve(make_candidate(), routes_at_fire, ALL_CHANNELS)
    alert = fired(plan=decision.plan, next_escalation_at=FIRED + minutes(10))
    # the routes are edited after firing: escalation now goes to email after 1 minute
    edited = [
        route("r", notify=["oncall-slack"], escalation=[{"after": "1m", "notify": ["dba-email"]}])
    ]
    assert resolve(make_candidate(), edited, ALL_CHANNELS).plan != alert.plan
    assert tick(alert, [], FIRED + minutes(5)) is None
    result = tick(alert, [], FIRED + minutes(10))
    assert result is not None
    assert [s.channel for s in result.sends] == ["oncall-slack", "pager"]


def test_silenced_alert_sleeps_until_the_silence_ends_then_pages() -> None:
    silence = make_silence(operation="commit", expires_in=30)
    alert = fired(silence_id=3, notified_channels=(), next_escalation_at=silence.expires_at)
    assert tick(alert, [silence], NOW + minutes(29)) is None
    extended = silence.model_copy(update={"expires_at": NOW + minutes(90)})
    slept = tick(alert, [extended], NOW + minutes(30))
    assert slept is not None
    assert slept.sends == ()
    assert slept.alert.next_escalation_at == NOW + minutes(90)
    woke = tick(alert, [silence], NOW + minutes(30))
    assert woke is not None
    assert woke.alert.silence_id is None
    assert [(s.channel, s.event) for s in woke.sends] == [("oncall-slack", "fired")]
    assert woke.alert.next_escalation_at == NOW + minutes(40)
    assert [e.action for e in woke.events] == ["unsilenced"]


def test_a_new_silence_mutes_instead_of_escalating() -> None:
    result = tick(fired(), [make_silence(kind="anomaly", expires_in=120)], FIRED + minutes(10))
    assert result is not None
    assert result.alert.silence_id == 3
    assert result.alert.escalation_step == 0
    assert result.alert.next_escalation_at == NOW + minutes(120)
    assert [s.event for s in result.sends] == ["updated"]


@pytest.mark.parametrize(
    ("step_index", "status", "expected_step", "next_at", "channels", "note"),
    [
        (
            0,
            AlertStatus.OPEN,
            1,
            NOW + minutes(20),
            ("oncall-slack", "oncall-mm"),
            "escalated to step 1 of 3",
        ),
        (2, AlertStatus.OPEN, 3, None, ("oncall-slack", "dba-email"), "escalated to step 3 of 3"),
        (
            3,
            AlertStatus.OPEN,
            3,
            None,
            ("oncall-slack", "dba-email"),
            "past its last escalation step; re-notified step 3",
        ),
        (
            0,
            AlertStatus.ACKNOWLEDGED,
            1,
            None,
            ("oncall-slack", "oncall-mm"),
            "escalated to step 1 of 3",
        ),
    ],
)
def test_manual_escalation(
    step_index: int,
    status: AlertStatus,
    expected_step: int,
    next_at: datetime | None,
    channels: tuple[str, ...],
    note: str,
) -> None:
    result = escalate_now(fired(escalation_step=step_index, status=status), ALICE, NOW)
    assert (result.alert.escalation_step, result.alert.next_escalation_at, result.alert.status) == (
        expected_step,
        next_at,
        status,
    )
    assert tuple(s.channel for s in result.sends) == channels
    assert note in result.note
    assert (result.events[0].actor, result.events[0].details["automatic"]) == (ALICE.label, False)


def test_manual_escalation_without_steps_renotifies_first_page() -> None:
    result = escalate_now(make_alert(plan=plan(("oncall-slack", "oncall-mm"))), ALICE, NOW)
    assert [s.channel for s in result.sends] == ["oncall-slack", "oncall-mm"]
    assert "has no escalation steps; re-notified oncall-slack, oncall-mm" in result.note


@pytest.mark.parametrize(
    ("step_index", "repeat", "expected"),
    [
        (0, None, timedelta(minutes=10)),
        (1, None, timedelta(minutes=20)),
        (3, None, None),
        (3, minutes(15), minutes(15)),
    ],
)
def test_resume_restarts_the_wait_before_the_next_step(
    step_index: int, repeat: timedelta | None, expected: timedelta | None
) -> None:
    alert = fired(escalation_step=step_index, plan=PLAN.model_copy(update={"repeat_every": repeat}))
    at = resume_at(alert, NOW)
    assert (at - NOW if at else None) == expected

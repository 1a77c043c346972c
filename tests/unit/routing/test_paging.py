"""Escalation to people, pure: what a step's page targets become at the moment it runs, from
the directory the caller resolved then (table-driven), and how `tick`/`escalate_now` freeze it
into the alert, mention it and deliver it per person."""

import pytest

from bot.models import Alert, EscalationStep, Paged
from bot.routing.escalation import due_targets, escalate_now, next_targets, tick
from bot.routing.paging import Contact, Directory, page
from tests.unit.routing.factories import ALICE, NOW, make_alert, minutes, plan

ADA = Contact(
    "ada",
    "Ada Lovelace",
    "primary",
    ("slack:U0ADA", "mattermost:" + "a" * 26),
    ("slack", "mattermost", "email"),
)
BOB = Contact("bob", "Bob Stone", None, ("slack:U0BOB",), ("email", "pagerduty"))
ADA_DIRECT = Contact("ada", "Ada Lovelace", None, ("slack:U0ADA",), ("slack",))


@pytest.mark.parametrize(
    ("targets", "directory", "persons", "mention", "channels", "nobody"),
    [
        ((), {}, [], (), (), ()),
        (
            ("oncall:primary",),
            {"oncall:primary": ADA},
            [("ada", "primary")],
            ("slack:U0ADA", "mattermost:" + "a" * 26),
            ("person:ada:slack", "person:ada:mattermost", "person:ada:email"),
            (),
        ),
        (("oncall:primary",), {"oncall:primary": None}, [], (), (), ("oncall:primary",)),
        (("oncall:gone",), {}, [], (), (), ("oncall:gone",)),
        (
            ("oncall:primary", "person:bob"),
            {"oncall:primary": ADA, "person:bob": BOB},
            [("ada", "primary"), ("bob", None)],
            ("slack:U0ADA", "mattermost:" + "a" * 26, "slack:U0BOB"),
            (
                "person:ada:slack",
                "person:ada:mattermost",
                "person:ada:email",
                "person:bob:email",
                "person:bob:pagerduty",
            ),
            (),
        ),
        # the same person through two targets is paged once, as the first target found them
        (
            ("oncall:primary", "person:ada"),
            {"oncall:primary": ADA, "person:ada": ADA_DIRECT},
            [("ada", "primary")],
            ("slack:U0ADA", "mattermost:" + "a" * 26),
            ("person:ada:slack", "person:ada:mattermost", "person:ada:email"),
            (),
        ),
    ],
)
def test_page(
    targets: tuple[str, ...],
    directory: Directory,
    persons: list[tuple[str, str | None]],
    mention: tuple[str, ...],
    channels: tuple[str, ...],
    nobody: tuple[str, ...],
) -> None:
    pages = page(targets, directory, 2, NOW)
    assert [(p.person, p.schedule) for p in pages.paged] == persons
    assert all(p.at == NOW and p.step == 2 for p in pages.paged)
    assert pages.mention == mention
    assert pages.channels == channels
    assert pages.nobody == nobody


def test_people_written_among_notify_move_to_page() -> None:
    step = EscalationStep.model_validate(
        {"after": "5m", "notify": ["pager", "oncall:primary", "person:bob"]}
    )
    assert step.notify == ("pager",)
    assert step.page == ("oncall:primary", "person:bob")


PLAN = plan(
    channels=("chat",),
    steps=(
        EscalationStep(after=minutes(10), notify=("pager",), page=("oncall:primary",)),
        EscalationStep(after=minutes(30), page=("person:bob",)),
    ),
)


def waiting() -> Alert:
    return make_alert(
        plan=PLAN,
        escalation_step=0,
        next_escalation_at=NOW + minutes(10),
        notified_channels=("chat",),
        created_at=NOW,
    )


def test_tick_pages_whoever_the_directory_says_is_on_call_then() -> None:
    alert = waiting()
    assert due_targets(alert, NOW) == ()
    at = NOW + minutes(10)
    assert due_targets(alert, at) == ("oncall:primary",)
    t = tick(alert, [], at, {"oncall:primary": ADA})
    assert t is not None
    assert t.alert.paged == (
        Paged(person="ada", name="Ada Lovelace", schedule="primary", at=at, step=1),
    )
    sends = [(s.channel, s.mention) for s in t.sends]
    people = ("slack:U0ADA", "mattermost:" + "a" * 26)
    assert sends == [
        ("chat", people),
        ("pager", people),
        ("person:ada:slack", ()),
        ("person:ada:mattermost", ()),
        ("person:ada:email", ()),
    ]
    assert t.alert.notified_channels == ("chat", "pager")  # people are not channels
    assert t.events[0].details["paged"] == ["ada"]
    assert "paged Ada Lovelace (on call: primary)" in t.note


def test_tick_with_nobody_on_call_still_runs_the_step_and_says_so() -> None:
    t = tick(waiting(), [], NOW + minutes(10), {"oncall:primary": None})
    assert t is not None
    assert t.alert.paged == ()
    assert t.alert.escalation_step == 1
    assert [s.channel for s in t.sends] == ["chat", "pager"]
    assert "nobody to page for oncall:primary" in t.note


def test_a_persons_escalation_pages_the_next_steps_people_and_keeps_earlier_pages() -> None:
    first = tick(waiting(), [], NOW + minutes(10), {"oncall:primary": ADA})
    assert first is not None
    assert next_targets(first.alert) == ("person:bob",)
    t = escalate_now(first.alert, ALICE, NOW + minutes(12), {"person:bob": BOB})
    assert [p.person for p in t.alert.paged] == ["ada", "bob"]
    assert [s.channel for s in t.sends if s.channel.startswith("person:")] == [
        "person:bob:email",
        "person:bob:pagerduty",
    ]

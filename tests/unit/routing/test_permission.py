"""Who may act: identities, entries, groups, labels and broad silences (pure logic)."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.models import ActorSource, Severity, SilenceMatch
from bot.routing import actions
from bot.routing.permission import (
    Action,
    Permissions,
    entry_problem,
    expand,
    identity,
    label,
    owner,
    permitted,
)
from bot.routing.silence import MAX_BROAD, broad_problem, is_broad
from bot.routing.transition import Actor
from tests.unit.routing.factories import NOW, make_alert

MM_ALICE = "rd49ehbqyjytddasoownkuqrxe"
PERMS = Permissions(
    ack=frozenset({"*"}),
    escalate=frozenset({"slack:U024BE7LH", f"mattermost:{MM_ALICE}"}),
    silence=frozenset({"slack:U0ALICE", "console"}),
    resolve=frozenset(),
    silence_all=frozenset({"slack:U0ALICE"}),
)


def slack(user_id: str | None, name: str | None = None) -> Actor:
    return Actor(user_id=user_id, user_name=name, source=ActorSource.SLACK)


def mm(user_id: str | None, name: str | None = None) -> Actor:
    return Actor(user_id=user_id, user_name=name, source=ActorSource.MATTERMOST)


@pytest.mark.parametrize(
    ("action", "actor", "expected"),
    [
        ("ack", slack("U999", "mallory"), True),  # * is everyone with an id
        ("unack", slack("U999"), True),
        ("ack", slack(None, "alice"), False),  # * never lets in a request without an id
        ("ack", Actor(user_name="perfbot"), False),  # system actors have no identity
        ("escalate", slack("U024BE7LH"), True),
        ("escalate", mm(MM_ALICE, "alice"), True),
        ("escalate", slack(MM_ALICE.upper()), False),  # a platform's id only counts there
        ("escalate", mm("U024BE7LH"), False),  # not a Mattermost id at all
        ("escalate", slack("u024be7lh"), False),  # ids compare exactly
        ("silence", slack("U0MALLORY", "u0alice"), False),  # the name spoof of issue 12
        ("silence", slack("U0MALLORY", "U0ALICE"), False),
        ("silence", slack("U0MALLORY", "slack:U0ALICE"), False),
        ("silence", mm("u0alice", "U0ALICE"), False),
        ("silence", slack("U0ALICE", "whoever"), True),
        ("unsilence", slack("U0ALICE"), True),
        ("silence", Actor(user_name="bob", source=ActorSource.CONSOLE), True),
        ("silence_all", slack("U0ALICE"), True),
        ("silence_all", Actor(source=ActorSource.CONSOLE), False),
        ("resolve", slack("U024BE7LH", "alice"), False),  # an empty list allows nobody
    ],
)
def test_permitted_compares_identities_never_names(
    action: Action, actor: Actor, expected: bool
) -> None:
    assert permitted(action, actor.ident, PERMS) is expected


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("ack", True),
        ("unack", True),
        ("escalate", True),
        ("silence", False),
        ("unsilence", False),
        ("resolve", False),
        ("silence_all", False),
    ],
)
def test_defaults_open_ack_and_escalate_only(action: Action, expected: bool) -> None:
    assert permitted(action, "slack:U0ANYONE", Permissions()) is expected


@pytest.mark.parametrize(
    ("platform", "user_id", "expected"),
    [
        ("slack", "U0ALICE", "slack:U0ALICE"),
        ("slack", "W012A3CDE", "slack:W012A3CDE"),
        ("slack", "u0alice", None),
        ("slack", "U0 ALICE", None),
        ("slack", "", None),
        ("slack", None, None),
        ("mattermost", MM_ALICE, f"mattermost:{MM_ALICE}"),
        ("mattermost", MM_ALICE[:-1], None),
        ("mattermost", "alice", None),
        ("console", None, "console"),
        ("email", "x", None),
    ],
)
def test_identity(platform: str, user_id: str | None, expected: str | None) -> None:
    assert identity(platform, user_id) == expected


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("*", None),
        ("console", None),
        ("slack:U0ALICE", None),
        (f"mattermost:{MM_ALICE}", None),
        ("group:oncall", None),
        (" slack:U0ALICE ", None),
        ("alice", "'alice' looks like a user name; names are not trusted"),
        ("@alice", "'@alice' looks like a user name"),
        ("U0ALICE", "'U0ALICE' is a bare user id; write slack:U0ALICE"),
        ("@U0ALICE", "write slack:U0ALICE"),
        (MM_ALICE, f"write mattermost:{MM_ALICE}"),
        ("slack:u0alice", "Slack user ids are upper case; write slack:U0ALICE"),
        ("slack:alice smith", "is not a Slack user id"),
        ("mattermost:alice", "is not a Mattermost user id"),
        (f"mattermost:{MM_ALICE.upper()}", f"lower case; write mattermost:{MM_ALICE}"),
        ("teams:abc", "unknown platform 'teams'"),
        ("group:nobody", "unknown group 'nobody' (permissions.groups: oncall)"),
    ],
)
def test_entry_problem(entry: str, problem: str | None) -> None:
    found = entry_problem(entry, ["oncall"])
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_groups_expand_to_their_members() -> None:
    groups = {"oncall": ["slack:U1", f"mattermost:{MM_ALICE}"], "dba": ["console"]}
    assert expand(["group:oncall", "slack:U2", "group:dba"], groups) == {
        "slack:U1",
        f"mattermost:{MM_ALICE}",
        "slack:U2",
        "console",
    }


@pytest.mark.parametrize(
    ("ident", "name", "shown", "read_back"),
    [
        ("slack:U1", "alice", "alice (slack:U1)", "slack:U1"),
        ("slack:U1", None, "slack:U1", "slack:U1"),
        ("console", "bob", "bob (console)", "console"),
        # a name cannot pretend to carry an identity
        ("slack:U0MALLORY", "alice (slack:U0ALICE)", "alice slack:U0ALICE (slack:U0MALLORY)", None),
        ("slack:U2", "line\nbreak\x00", "line break (slack:U2)", "slack:U2"),
        (None, "perfbot", "perfbot", None),
        (None, None, "unknown", None),
    ],
)
def test_labels_put_the_identity_last(
    ident: str | None, name: str | None, shown: str, read_back: str | None
) -> None:
    assert label(ident, name) == shown
    expected = ident if ident is not None else read_back
    assert owner(shown) == expected


def test_owner_of_a_name_only_label_is_none() -> None:
    assert owner("alice") is None
    assert owner(None) is None


@pytest.mark.parametrize(
    ("match", "broad"),
    [
        (SilenceMatch(operation="*"), True),
        (SilenceMatch(operation="**"), True),
        (SilenceMatch(operation="?*"), True),
        (SilenceMatch(operation="[a-z]*"), True),
        (SilenceMatch(operation="*_*"), True),
        (SilenceMatch(operation="*e?*"), True),
        (SilenceMatch(operation="*mit"), False),
        (SilenceMatch(operation="ab"), False),  # one operation, not a pattern
        (SilenceMatch(operation="[ab"), False),  # no closing bracket: literal characters
        (SilenceMatch(severity=Severity.CRITICAL), True),
        (SilenceMatch(kind="degradation"), True),
        (SilenceMatch(operation="*", severity=Severity.CRITICAL), True),
        (SilenceMatch(operation="commit"), False),
        (SilenceMatch(operation="merge*"), False),
        (SilenceMatch(severity=Severity.WARNING), False),
        (SilenceMatch(operation="*", severity=Severity.WARNING), False),
        (SilenceMatch(alert_id=4), False),
    ],
)
def test_broad_silences(match: SilenceMatch, broad: bool) -> None:
    assert is_broad(match) is broad
    too_long = broad_problem(match, timedelta(days=30), MAX_BROAD)
    assert (too_long is not None) is broad
    assert broad_problem(match, MAX_BROAD, MAX_BROAD) is None


def test_the_broad_cap_is_named_in_the_refusal() -> None:
    problem = broad_problem(SilenceMatch(operation="*"), timedelta(hours=5), timedelta(hours=2))
    assert problem is not None
    assert "at most 2h (silences.max_broad)" in problem


def test_unacking_another_persons_ack_says_so_with_both_identities() -> None:
    acked = make_alert(status="acknowledged", acknowledged_by="alice (slack:U0ALICE)")
    bob = slack("U0BOB", "bob")
    t = actions.unacknowledge(acked, bob, NOW)
    assert t.note.endswith("bob (slack:U0BOB) unacked alice (slack:U0ALICE)'s ack")
    [event] = t.events
    assert (event.actor, event.details["user_id"], event.details["acknowledged_by_id"]) == (
        "bob (slack:U0BOB)",
        "slack:U0BOB",
        "slack:U0ALICE",
    )
    assert event.details["others_ack"] is True
    own = actions.unacknowledge(acked, slack("U0ALICE", "alice"), NOW)
    assert own.note == f"alert #{acked.id} is open again"
    assert own.events[0].details["others_ack"] is False


@given(
    name=st.text(max_size=80),
    user_id=st.from_regex(r"U[A-Z0-9]{1,10}", fullmatch=True),
)
def test_no_name_changes_who_someone_is(name: str, user_id: str) -> None:
    actor = slack(user_id, name)
    assert permitted("silence", actor.ident, PERMS) is (user_id == "U0ALICE")
    assert owner(actor.label) == f"slack:{user_id}"
    assert "\n" not in actor.label

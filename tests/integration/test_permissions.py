"""Who may act, through the `/perf` commands and the real alert service on PostgreSQL: identity by
qualified id (a spoofed name gets nothing), requests without an id refused, safe defaults,
broad silences behind `silence_all` and `silences.max_broad`, unacking another person's ack
audited with both identities, and permission checked before anything is looked up."""

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.commands import Commands, build_registry
from bot.commands.service import NO_USER_ID
from bot.config import Settings
from bot.models import ActorSource, AlertStatus
from bot.routing.transition import Actor
from bot.store import Store
from tests.seed import World, seed

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ALICE = Actor(user_id="U0ALICE", user_name="alice", source=ActorSource.SLACK)
BOB = Actor(user_id="U0BOB", user_name="bob", source=ActorSource.SLACK)
# Mallory's own, correctly signed request, claiming alice's name
SPOOF = Actor(user_id="U0MALLORY", user_name="u0alice", source=ActorSource.SLACK)
CAROL_ID = "ca2o1ca2o1ca2o1ca2o1ca2o1c"
CAROL = Actor(user_id=CAROL_ID, user_name="carol", source=ActorSource.MATTERMOST)
CONSOLE = Actor(user_name="ops", source=ActorSource.CONSOLE)
CONFIGURED = {
    "groups": {"oncall": ["slack:U0ALICE", "slack:U0BOB"]},
    "ack": ["group:oncall"],
    "escalate": ["*"],
    "silence": ["group:oncall", "console"],
    "resolve": ["slack:U0ALICE"],
    "silence_all": ["slack:U0ALICE"],
}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


async def commands_with(
    store: Store, clock: FrozenClock, permissions: dict[str, Any] | None
) -> tuple[Commands, World]:
    settings = (
        Settings.load(permissions=permissions) if permissions is not None else Settings.load()
    )
    service = AlertService(store, settings, clock)
    world = await seed(store, service, NOW)
    return Commands(store, service, settings, clock, registry=build_registry()), world


async def last_event(store: Store, alert_id: int | None = None) -> Any:
    if alert_id is not None:
        return (await store.alerts.events(alert_id))[-1]
    async with store.connector.pool.acquire() as conn:
        return await conn.fetchrow(
            "SELECT actor, action, details::text AS details, alert_id"
            " FROM perfbot.alert_events ORDER BY id DESC LIMIT 1"
        )


async def test_a_spoofed_name_gets_nothing_and_the_real_id_is_audited(
    store: Store, clock: FrozenClock
) -> None:
    commands, world = await commands_with(store, clock, CONFIGURED)
    alert = world.alerts["commit"]
    for text in (f"resolve {alert.id}", "silence * 30d", f"silence alert={alert.id} 1h"):
        reply = await commands.run(text, SPOOF)
        assert reply.error, text
        assert "you are not allowed to" in reply.text
        assert "slack:U0MALLORY" in reply.text
    assert await store.alerts.active_silences(NOW) == []
    stored = await store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.OPEN
    event = await last_event(store, alert.id)
    assert (event.action, event.actor, event.details["user_id"], event.details["user_name"]) == (
        "refused",
        "u0alice (slack:U0MALLORY)",
        "slack:U0MALLORY",
        "u0alice",
    )


@pytest.mark.parametrize(
    "actor",
    [
        Actor(user_name="alice", source=ActorSource.SLACK),
        Actor(user_id="", user_name="alice", source=ActorSource.SLACK),
        Actor(user_id="alice", user_name="alice", source=ActorSource.SLACK),
        Actor(user_id="U0ALICE", user_name="alice", source=ActorSource.MATTERMOST),
    ],
)
async def test_requests_without_a_user_id_are_refused(
    store: Store, clock: FrozenClock, actor: Actor
) -> None:
    commands, world = await commands_with(store, clock, {**CONFIGURED, "ack": ["*"]})
    for text in (f"ack {world.alerts['commit'].id}", "alerts", "silence commit 1h"):
        reply = await commands.run(text, actor)
        assert (reply.error, reply.text) == (True, NO_USER_ID)
    stored = await store.alerts.get(world.alerts["commit"].id)
    assert stored is not None
    assert stored.status is AlertStatus.OPEN


async def test_defaults_let_anyone_ack_and_escalate_but_nobody_silence_or_resolve(
    store: Store, clock: FrozenClock
) -> None:
    commands, world = await commands_with(store, clock, None)
    alert = world.alerts["commit"]
    for text in (f"resolve {alert.id}", "silence commit 1h", "silence * 30d"):
        for who in (ALICE, CONSOLE):
            reply = await commands.run(text, who)
            assert reply.error, (text, who)
            assert "you are not allowed to" in reply.text
    assert not (await commands.run(f"escalate {alert.id}", CAROL)).error
    assert not (await commands.run(f"ack {alert.id}", CAROL)).error
    assert await store.alerts.active_silences(NOW) == []


@pytest.mark.parametrize(
    ("who", "text", "says"),
    [
        (BOB, "silence * 30d", "you are not allowed to silence CRITICAL alerts of every operation"),
        (BOB, "silence severity=critical 1h", "permissions.silence_all"),
        (BOB, "silence kind=degradation 1h", "permissions.silence_all"),
        (BOB, "silence ?* 30d", "permissions.silence_all"),
        (BOB, "silence [a-z]* 1h", "permissions.silence_all"),
        (CONSOLE, "silence * 1h", "ask an admin to add console to permissions.silence_all"),
        (ALICE, "silence * 30d", "lasts at most 4h (silences.max_broad)"),
        (ALICE, "silence severity=critical 5h", "lasts at most 4h (silences.max_broad)"),
        (ALICE, "silence * 4h", None),
        (BOB, "silence severity=warning 1d", None),
        (BOB, "silence commit 1d", None),
        (BOB, "silence merge* 30d", None),
        (CONSOLE, "silence * severity=warning 2d", None),
    ],
)
async def test_broad_silences_need_silence_all_and_are_capped(
    store: Store, clock: FrozenClock, who: Actor, text: str, says: str | None
) -> None:
    commands, _ = await commands_with(store, clock, CONFIGURED)
    reply = await commands.run(text, who)
    if says is None:
        assert not reply.error, reply.text
        assert len(await store.alerts.active_silences(NOW)) == 1
    else:
        assert reply.error
        assert says in reply.text
        assert await store.alerts.active_silences(NOW) == []


async def test_unacking_someone_elses_ack_needs_the_ack_list_and_names_both(
    store: Store, clock: FrozenClock
) -> None:
    commands, world = await commands_with(store, clock, CONFIGURED)
    alert = world.alerts["commit"]
    assert not (await commands.run(f"ack {alert.id}", ALICE)).error
    refused = await commands.run(f"unack {alert.id}", CAROL)
    assert refused.text == (
        f"you are not allowed to unacknowledge alerts (ask an admin to add mattermost:{CAROL_ID} "
        "to permissions.ack)"
    )
    taken = await commands.run(f"unack {alert.id}", BOB)
    assert not taken.error, taken.text
    assert taken.text.endswith("bob (slack:U0BOB) unacked alice (slack:U0ALICE)'s ack")
    event = await last_event(store, alert.id)
    assert (event.action, event.actor, event.details["acknowledged_by_id"]) == (
        "unacknowledged",
        "bob (slack:U0BOB)",
        "slack:U0ALICE",
    )
    assert event.details["others_ack"] is True


async def test_anyone_may_take_back_their_own_ack(store: Store, clock: FrozenClock) -> None:
    # carol may acknowledge (ack: *) … until the list is narrowed; her own ack stays hers
    open_commands, world = await commands_with(store, clock, {**CONFIGURED, "ack": ["*"]})
    alert = world.alerts["commit"]
    assert not (await open_commands.run(f"ack {alert.id}", CAROL)).error
    strict = Settings.load(permissions=CONFIGURED)
    commands = Commands(
        store, AlertService(store, strict, clock), strict, clock, registry=build_registry()
    )
    own = await commands.run(f"unack {alert.id}", CAROL)
    assert not own.error, own.text
    assert own.text == f"Alert #{alert.id} is open again"


@pytest.mark.parametrize(
    "text",
    [
        "resolve 999999",
        "unack 999999",
        "silence alert=999999 1h",
        "silence nosuchop 1h",
        "unsilence 999999",
    ],
)
async def test_permission_is_checked_before_existence(
    store: Store, clock: FrozenClock, text: str
) -> None:
    commands, _ = await commands_with(store, clock, {**CONFIGURED, "ack": ["slack:U0ALICE"]})
    reply = await commands.run(text, CAROL)
    assert reply.error
    assert reply.text.startswith("you are not allowed to"), reply.text
    assert "999999" not in reply.text
    assert "nosuchop" not in reply.text
    row = await last_event(store)
    assert (row["action"], row["alert_id"]) == ("refused", None)
    # the same command from someone allowed learns that there is no such thing
    allowed = await commands.run(text, ALICE)
    assert allowed.error
    assert "you are not allowed" not in allowed.text

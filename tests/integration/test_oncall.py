"""On-call schedules end to end against real PostgreSQL: `/perf oncall` from the configured
rotation, `/perf override` by Slack mention and `me` (stored, audited, permission-checked),
`/perf overrides` and `/perf unoverride`, `perfbot oncall` through the same command, and
`OncallService.person_on_call` (what escalation will call) reading the stored overrides."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from bot.alerts import AlertService
from bot.chat.mattermost_users import MattermostUsers
from bot.clock import FrozenClock
from bot.commands import Commands, build_registry
from bot.config import Settings
from bot.models import ActorSource
from bot.oncall import OncallService
from bot.routing.transition import Actor
from bot.store import Store
from tests.fakes.mattermost import BOT_TOKEN, MattermostFake
from tests.integration.test_commands import table_of, text_of

# Wednesday 2026-06-03 12:00 UTC = 14:00 in Paris; the weekly rotation started Monday 06-01
NOW = datetime(2026, 6, 3, 12, tzinfo=UTC)
MM_CAROL = "c4r01c4r01c4r01c4r01c4r01c"
ALICE = Actor(user_id="U0ALICE", user_name="alice", source=ActorSource.SLACK)
CAROL = Actor(user_id=MM_CAROL, user_name="carol", source=ActorSource.MATTERMOST)
MALLORY = Actor(user_id="U0MALLORY", user_name="mallory", source=ActorSource.SLACK)
PEOPLE = {
    "alice": {"name": "Alice Martin", "slack": "U0ALICE", "email": "alice@example.com"},
    "bob": {"name": "Bob Stone", "slack": "U0BOB", "email": "bob@example.com"},
    "carol": {"mattermost": MM_CAROL, "email": "carol@example.com"},
}
ONCALL = {
    "schedules": {
        "primary": {
            "timezone": "Europe/Paris",
            "layers": [
                {
                    "rotation": "weekly",
                    "handoff": "09:00",
                    "handoff_day": "monday",
                    "start": "2026-06-01",
                    "participants": ["alice", "bob"],
                }
            ],
        },
        "dba": {
            "timezone": "America/New_York",
            "layers": [{"rotation": "daily", "start": "2026-06-01", "participants": ["carol"]}],
        },
    }
}


@pytest.fixture
def settings() -> Settings:
    return Settings.load(
        people=PEOPLE,
        oncall=ONCALL,
        permissions={"override": ["slack:U0ALICE", f"mattermost:{MM_CAROL}", "console"]},
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def commands(store: Store, settings: Settings, clock: FrozenClock) -> Commands:
    return Commands(
        store, AlertService(store, settings, clock), settings, clock, registry=build_registry()
    )


async def test_oncall_shows_now_and_next_handoffs(commands: Commands) -> None:
    reply = await commands.run("oncall", ALICE)
    assert not reply.error, reply.text
    text = text_of(reply)
    assert "primary: Alice Martin (alice) (layer 1), until Mon 06-08 09:00 Europe/Paris" in (text)
    assert "Mon 06-08 09:00 Europe/Paris  Alice Martin (alice) → Bob Stone (bob)" in text
    assert "dba: carol (layer 1), no hand-off in the next 60d" in text
    only = text_of(await commands.run("oncall primary --at 2026-06-08T07:00Z --next 1", ALICE))
    assert "primary: Bob Stone (bob)" in only
    assert "dba" not in only
    unknown = await commands.run("oncall nope", ALICE)
    assert unknown.error
    assert unknown.text == "there is no on-call schedule 'nope' (schedules: primary, dba)"


async def test_override_by_mention_wins_and_can_be_removed(
    commands: Commands, store: Store, settings: Settings, clock: FrozenClock
) -> None:
    oncall = OncallService(store, settings, clock)
    before = await oncall.person_on_call("primary", NOW)
    assert before is not None
    assert before.id == "alice"
    reply = await commands.run("override <@U0BOB|bob> 4h primary", ALICE)
    assert not reply.error, reply.text
    assert reply.in_channel
    assert reply.text == "Bob Stone (bob) is on call for primary until Wed 06-03 18:00 Europe/Paris"
    paged = await oncall.person_on_call("primary", NOW + timedelta(hours=1))
    assert paged is not None
    assert (paged.id, paged.slack, paged.email, paged.identities) == (
        "bob",
        "U0BOB",
        "bob@example.com",
        ("slack:U0BOB",),
    )
    assert paged.on_call.source == "override"
    after = await oncall.person_on_call("primary", NOW + timedelta(hours=4))
    assert after is not None
    assert after.id == "alice"
    listed = table_of(await commands.run("overrides", ALICE))
    [(override_id, schedule, person, *_rest, by)] = listed.rows
    assert (schedule, person, by) == ("primary", "Bob Stone (bob)", "alice (slack:U0ALICE)")
    now_text = text_of(await commands.run("oncall primary", ALICE))
    assert "primary: Bob Stone (bob) (override " in now_text
    [added] = await store.connector.pool.fetch(
        "SELECT actor, action, details FROM perfbot.alert_events WHERE action = 'override_added'"
    )
    assert added["actor"] == "alice (slack:U0ALICE)"
    removed = await commands.run(f"unoverride {override_id.removeprefix('#')}", ALICE)
    assert not removed.error, removed.text
    back = await oncall.person_on_call("primary", NOW + timedelta(hours=1))
    assert back is not None
    assert back.id == "alice"
    again = await commands.run(f"unoverride {override_id.removeprefix('#')}", ALICE)
    assert again.error
    assert "there is no active override" in again.text


async def test_override_me_from_mattermost_and_later_override_wins(
    commands: Commands, store: Store, settings: Settings, clock: FrozenClock
) -> None:
    assert not (await commands.run("override alice 8h primary", ALICE)).error
    clock.advance(timedelta(minutes=5))
    reply = await commands.run("override me 1h primary", CAROL)
    assert not reply.error, reply.text
    oncall = OncallService(store, settings, clock)
    now = clock.now()
    during = await oncall.person_on_call("primary", now + timedelta(minutes=30))
    assert during is not None
    assert (during.id, during.mattermost) == ("carol", MM_CAROL)
    later = await oncall.person_on_call("primary", now + timedelta(hours=2))
    assert later is not None
    assert later.id == "alice"
    assert later.on_call.source == "override"


async def test_an_override_of_someone_no_longer_configured_is_ignored(
    store: Store, settings: Settings, clock: FrozenClock
) -> None:
    oncall = OncallService(store, settings, clock)
    await oncall.add_override("primary", "bob", NOW, NOW + timedelta(hours=2), ALICE)
    fewer = Settings.load(
        people={k: v for k, v in PEOPLE.items() if k != "bob"},
        oncall={"schedules": {"primary": {"timezone": "UTC", "layers": []}}},
    )
    assert await OncallService(store, fewer, clock).person_on_call("primary", NOW) is None
    paged = await oncall.person_on_call("primary", NOW)
    assert paged is not None
    assert paged.id == "bob"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("override", "whom, and for how long?"),
        ("override @bob 4h primary", "Slack sent the name '@bob', not the user's id"),
        ("override bobby 4h primary", "who is 'bobby'?"),
        ("override <@U0NOBODY> 4h primary", "slack:U0NOBODY is not anyone in people:"),
        ("override bob 4h", "which schedule? name one of primary, dba"),
        ("override bob 40d primary", "at most 30d"),
        ("override bob 4h nope", "there is no on-call schedule 'nope'"),
        ("oncall --at yesterday", "'yesterday' is not a time"),
        ("oncall --at +99999999d", "--at must be within a year of now"),
        ("oncall --at 9999-12-31T23:59", "--at must be within a year of now"),
        ("oncall --next 99", "--next must be a whole number from 1 to 20"),
        ("unoverride x", "'x' is not an override id like 42"),
    ],
)
async def test_mistakes_get_clear_answers(commands: Commands, text: str, expected: str) -> None:
    reply = await commands.run(text, ALICE)
    assert reply.error
    assert expected in reply.text, reply.text


WORDS = st.sampled_from(
    [
        *("primary", "dba", "nope", "me", "alice", "@alice", "<@U0BOB|bob>", "<@U0>", "<@>"),
        *("slack:U0BOB", f"mattermost:{MM_CAROL}", "mattermost:x", "4h", "0s", "31d", "1"),
        *("--at", "--next", "--at=-1d", "--at=+99999999d", "--at=-9999999d", "--next=²"),
        *("--at=0001-01-01T00:00+14:00", "--at=9999-12-31T23:59", "now", "²", "#1", '"', ""),
    ]
)
ONCALL_TEXT = st.builds(
    lambda name, args: " ".join([name, *args]),
    st.sampled_from(["oncall", "override", "overrides", "unoverride"]),
    st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=5),
)


@examples(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=ONCALL_TEXT)
async def test_any_oncall_text_gets_a_clear_reply(commands: Commands, text: str) -> None:
    reply = await commands.run(text, ALICE)
    assert reply.text.strip()
    assert "unexpectedly" not in reply.text, text


async def test_override_needs_permission_and_refusals_are_audited(
    commands: Commands, store: Store
) -> None:
    reply = await commands.run("override me 4h primary", MALLORY)
    assert reply.error
    assert reply.text == (
        "you are not allowed to override on-call schedules (ask an admin to add "
        "slack:U0MALLORY to permissions.override)"
    )
    refused = await commands.run("unoverride 1", MALLORY)
    assert refused.error
    assert "not allowed" in refused.text
    rows = await store.connector.pool.fetch(
        "SELECT actor, action, details FROM perfbot.alert_events WHERE action = 'refused'"
    )
    assert [r["actor"] for r in rows] == ["mallory (slack:U0MALLORY)"] * 2
    assert await store.oncall.live(NOW) == []


async def test_help_lists_the_oncall_commands(commands: Commands) -> None:
    names = [row[0] for row in table_of(await commands.run("help", ALICE)).rows]
    for usage in (
        "/perf oncall [schedule]",
        "/perf override <person> <duration> [schedule]",
        "/perf overrides [schedule]",
        "/perf unoverride <id>",
    ):
        assert any(n.startswith(usage) for n in names), usage
    assert commands.is_mutating("override me 1h")
    assert not commands.is_mutating("oncall")


async def test_a_mattermost_mention_is_looked_up_to_an_id(
    store: Store, settings: Settings, clock: FrozenClock, mattermost_fake: MattermostFake
) -> None:
    mattermost_fake.users = {"carol.b": MM_CAROL, "bob": "b0bb0bb0bb0bb0bb0bb0bb0bb0"}
    users = MattermostUsers(mattermost_fake.url, BOT_TOKEN)
    commands = Commands(
        store,
        AlertService(store, settings, clock),
        settings,
        clock,
        registry=build_registry(),
        users=users,
    )
    reply = await commands.run("override @carol.b 2h primary", CAROL)
    assert not reply.error, reply.text
    paged = await OncallService(store, settings, clock).person_on_call("primary", NOW)
    assert paged is not None
    assert paged.id == "carol"
    unknown_id = await commands.run("override @bob 2h primary", CAROL)
    assert unknown_id.text == "mattermost:b0bb0bb0bb0bb0bb0bb0bb0bb0 is not anyone in people:"
    nobody = await commands.run("override @zed 2h primary", CAROL)
    assert nobody.text == "Mattermost has no user called @zed"
    [lookup, *_] = mattermost_fake.calls_to("GET /users/username")
    assert lookup.path == "/api/v4/users/username/carol.b"
    mattermost_fake.token = "rotated"
    refused = await commands.run("override @carol.b 2h primary", CAROL)
    assert refused.error
    assert "Mattermost refused the user lookup (HTTP 401)" in refused.text


def test_perfbot_oncall_runs_the_chat_command(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "perfbot.yml"
    config.write_text(
        "people:\n"
        "  alice: {name: Alice Martin, slack: U0ALICE}\n"
        "  bob: {slack: U0BOB}\n"
        "oncall:\n"
        "  schedules:\n"
        "    primary:\n"
        "      timezone: Europe/Paris\n"
        "      layers:\n"
        "        - {rotation: weekly, start: 2026-06-01, participants: [alice, bob]}\n"
    )
    env = {**os.environ, "PERFBOT_DATABASE_URL": db_url}
    at = "2026-06-09T12:00:00+00:00"
    done = subprocess.run(
        [*(sys.executable, "-m", "bot", "oncall", "--config", str(config), "primary"), "--at", at],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "primary: bob (layer 1)" in done.stdout
    assert "Mon 06-15 09:00 Europe/Paris  bob → Alice Martin (alice)" in done.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "bot", "oncall", "--config", str(config), "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert "there is no on-call schedule 'nope'" in missing.stdout + missing.stderr

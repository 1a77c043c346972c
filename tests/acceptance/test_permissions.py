"""Who may act, against a real `perfbot run` with the Slack stand-in: correctly signed requests
from Mallory's own Slack account that claim alice's name (`user_name=u0alice`, the attack of
issue 12) are refused and audited under Mallory's real id; `/perf silence * 30d` is refused
out of the box and, where broad silences are allowed, capped at `silences.max_broad`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.alerts import AlertService
from bot.clock import SystemClock
from bot.config import Settings
from bot.models import AlertStatus
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.acceptance.slack_user import SIGNING_SECRET, SlackUser
from tests.fakes.fixtures import perfbot_env
from tests.fakes.slack import SlackFake
from tests.polling import eventually
from tests.seed import World, seed

ALICE = ("U0ALICE", "alice")
MALLORY_AS_ALICE = ("U0MALLORY", "u0alice")  # Mallory's id, alice's name


@asynccontextmanager
async def running(
    db_url: str, tmp_path: Path, slack_fake: SlackFake, permissions: dict[str, Any] | None
) -> AsyncIterator[PerfbotProcess]:
    config: dict[str, Any] = {"detection": {"interval": "1h"}, "schedules": {"escalate": "1h"}}
    if permissions is not None:
        config["permissions"] = permissions
    env = perfbot_env(slack_fake=slack_fake) | {"PERFBOT_SLACK__SIGNING_SECRET": SIGNING_SECRET}
    async with PerfbotProcess(db_url, tmp_path, config, env) as bot:
        yield bot


async def seeded(store: Store) -> World:
    return await seed(store, AlertService(store, Settings.load(), SystemClock()), datetime.now(UTC))


async def ask(bot: PerfbotProcess, slack_fake: SlackFake, user: tuple[str, str], text: str) -> str:
    """Send `/perf text` signed as Slack would for `user`; the text of perfbot's reply."""
    person = SlackUser(slack_fake, f"{bot.url}/slack/events", user)
    sent = await person.slash(text)
    assert sent.status == 200, sent.body

    async def replied() -> bool:
        return bool(person.replies(sent))

    await eventually(replied, within=15)
    return str(person.replies(sent)[0]["text"])


async def click(
    bot: PerfbotProcess, slack_fake: SlackFake, user: tuple[str, str], action: str, alert_id: int
) -> str:
    person = SlackUser(slack_fake, f"{bot.url}/slack/events", user)
    sent = await person.click(action, alert_id, "1700000000.000100")
    assert sent.status == 200, sent.body

    async def replied() -> bool:
        return bool(person.replies(sent))

    await eventually(replied, within=15)
    return str(person.replies(sent)[0]["text"])


async def test_a_spoofed_name_is_refused_and_audited_with_the_real_id(
    store: Store, db_url: str, tmp_path: Path, slack_fake: SlackFake
) -> None:
    world = await seeded(store)
    alert = world.alerts["commit"]
    permissions = {"silence": ["slack:U0ALICE"], "resolve": ["slack:U0ALICE"]}
    async with running(db_url, tmp_path, slack_fake, permissions) as bot:
        silenced = await ask(bot, slack_fake, MALLORY_AS_ALICE, "silence * 30d")
        resolved = await ask(bot, slack_fake, MALLORY_AS_ALICE, f"resolve {alert.id}")
        clicked = await click(bot, slack_fake, MALLORY_AS_ALICE, "perf_silence_1h", alert.id)
        for reply in (silenced, resolved, clicked):
            assert "you are not allowed to" in reply
            assert "slack:U0MALLORY" in reply
        # alice herself, by id, may silence this one alert
        allowed = await ask(bot, slack_fake, ALICE, f"silence alert={alert.id} 1h")
        assert "Silenced alert" in allowed, allowed
    [silence] = await store.alerts.active_silences(datetime.now(UTC))
    assert silence.match.alert_id == alert.id
    assert silence.created_by == "alice (slack:U0ALICE)"
    stored = await store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.OPEN
    refused = [e for e in await store.alerts.events(alert.id) if e.action == "refused"]
    assert [(e.actor, e.details["user_id"], e.details["attempted"]) for e in refused] == [
        ("u0alice (slack:U0MALLORY)", "slack:U0MALLORY", "resolve"),
        ("u0alice (slack:U0MALLORY)", "slack:U0MALLORY", "silence"),
    ]


async def test_silencing_everything_for_30_days_is_refused_by_default(
    store: Store, db_url: str, tmp_path: Path, slack_fake: SlackFake
) -> None:
    await seeded(store)
    async with running(db_url, tmp_path, slack_fake, None) as bot:
        for text in ("silence * 30d", "silence severity=critical 30d", "silence commit 1h"):
            reply = await ask(bot, slack_fake, ALICE, text)
            assert "you are not allowed to silence alerts" in reply, (text, reply)
        nameless = await ask(bot, slack_fake, ("", "alice"), "silence * 30d")
        assert "no valid user id" in nameless
    assert await store.alerts.active_silences(datetime.now(UTC)) == []


async def test_broad_silences_need_silence_all_and_are_capped(
    store: Store, db_url: str, tmp_path: Path, slack_fake: SlackFake
) -> None:
    await seeded(store)
    permissions = {
        "groups": {"oncall": ["slack:U0ALICE", "slack:U0BOB"]},
        "silence": ["group:oncall"],
        "silence_all": ["slack:U0ALICE"],
    }
    async with running(db_url, tmp_path, slack_fake, permissions) as bot:
        bob = await ask(bot, slack_fake, ("U0BOB", "bob"), "silence * 30d")
        assert "you are not allowed to silence CRITICAL alerts of every operation" in bob
        capped = await ask(bot, slack_fake, ALICE, "silence * 30d")
        assert "lasts at most 4h (silences.max_broad)" in capped
        assert await store.alerts.active_silences(datetime.now(UTC)) == []
        short = await ask(bot, slack_fake, ALICE, "silence * 2h")
        assert "Silenced operation *" in short, short
    [silence] = await store.alerts.active_silences(datetime.now(UTC))
    assert silence.created_by == "alice (slack:U0ALICE)"


async def test_a_name_based_list_stops_perfbot_run_with_the_form_to_write(
    db_url: str, tmp_path: Path, slack_fake: SlackFake
) -> None:
    # Before issue 12 this list let Mallory in by naming herself u0alice.
    permissions = {"silence": ["U0ALICE"], "resolve": ["alice"]}
    env = perfbot_env(slack_fake=slack_fake) | {"PERFBOT_SLACK__SIGNING_SECRET": SIGNING_SECRET}
    bot = PerfbotProcess(db_url, tmp_path, {"permissions": permissions}, env)
    try:
        with pytest.raises(AssertionError, match="exited early"):
            await bot.start()
    finally:
        await bot.stop()
    output = bot.output()
    assert "permissions.silence[0]: 'U0ALICE' is a bare user id; write slack:U0ALICE" in output
    assert "permissions.resolve[0]: 'alice' looks like a user name" in output

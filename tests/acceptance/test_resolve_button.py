"""The Resolve button on alert cards, end to end on both stand-ins: the card carries it beside
Acknowledge and Escalate; a click by someone outside `permissions.resolve` is refused with an
ephemeral message and changes nothing; a permitted click resolves the alert (audited under the
clicker's id) and the card loses its buttons. And `/perf test CHANNEL` from chat: sent for a
permitted user, refused (and nothing sent) for another."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.models import AlertStatus
from bot.store import Store
from tests.acceptance.conftest import LiveBot, chat_settings, start
from tests.fakes import mattermost, slack
from tests.fakes.mattermost import MattermostFake
from tests.fakes.server import free_port
from tests.fakes.slack import SlackFake
from tests.polling import eventually
from tests.seed import seed

MALLORY_SLACK = ("U0MALLORY", "mallory")
MALLORY_MM = "ma11oryma11oryma11oryma11o"
REFUSAL = "you are not allowed to resolve alerts"


def slack_card(live: LiveBot, alert_id: int) -> dict[str, Any] | None:
    return next((m for m in live.slack.messages.values() if f"(#{alert_id})" in m["text"]), None)


def mm_card(live: LiveBot, alert_id: int) -> dict[str, Any] | None:
    return next(
        (
            p
            for p in live.mattermost.posts.values()
            if f"#{alert_id} " in p["props"]["attachments"][0]["footer"] + " "
        ),
        None,
    )


async def test_slack_resolve_button_is_refused_without_permission_then_resolves(
    live: LiveBot,
) -> None:
    world = await seed(live.bot.store, live.bot.alerts, live.bot.clock.now())
    alert = world.alerts["merge"]

    async def posted() -> bool:
        return slack_card(live, alert.id) is not None

    await eventually(posted)
    card = slack_card(live, alert.id)
    assert card is not None
    [actions] = [b for b in card["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [
        "perf_ack",
        "perf_escalate",
        "perf_resolve",
        "perf_silence_1h",
    ]

    mallory = live.slack_user(MALLORY_SLACK)
    sent = await mallory.click("perf_resolve", alert.id, card["ts"])
    assert sent.status == 200

    async def answered() -> bool:
        return bool(mallory.replies(sent))

    await eventually(answered)
    [reply] = mallory.replies(sent)
    assert REFUSAL in reply["text"]
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    stored = await live.bot.store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.OPEN

    alice = live.slack_user()
    sent = await alice.click("perf_resolve", alert.id, card["ts"])
    assert sent.status == 200

    async def resolved() -> bool:
        found = await live.bot.store.alerts.get(alert.id)
        return found is not None and found.status is AlertStatus.RESOLVED

    await eventually(resolved)
    stored = await live.bot.store.alerts.get(alert.id)
    assert stored is not None
    assert stored.resolved_by == "alice (slack:U2147483697)"

    async def buttons_gone() -> bool:
        edited = live.slack.messages[(slack.CHANNEL_ID, card["ts"])]
        return all(b["type"] != "actions" for b in edited["blocks"])

    await eventually(buttons_gone)  # the outbox edited the card in place


async def test_mattermost_resolve_button_is_refused_without_permission_then_resolves(
    live: LiveBot,
) -> None:
    world = await seed(live.bot.store, live.bot.alerts, live.bot.clock.now())
    alert = world.alerts["merge"]

    async def posted() -> bool:
        return mm_card(live, alert.id) is not None

    await eventually(posted)
    post = mm_card(live, alert.id)
    assert post is not None
    ids = [a["id"] for a in post["props"]["attachments"][0]["actions"]]
    assert ids == ["ack", "escalate", "resolve", "silence1h"]

    denied = await live.mattermost.click(
        post["id"], "resolve", user_id=MALLORY_MM, user_name="mallory"
    )
    assert denied.status == 200
    assert denied.answer is not None
    assert denied.answer["ephemeral_text"].startswith(f":warning: {REFUSAL}")
    stored = await live.bot.store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.OPEN

    clicked = await live.mattermost.click(post["id"], "resolve")
    assert clicked.answer is not None
    assert clicked.answer["ephemeral_text"].startswith(f"Alert #{alert.id} resolved by alice")
    stored = await live.bot.store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.RESOLVED
    assert stored.resolved_by == f"alice (mattermost:{mattermost.ALICE_ID})"

    async def buttons_gone() -> bool:
        return not post["props"]["attachments"][0]["actions"]

    await eventually(buttons_gone)


# ---- /perf test from chat -------------------------------------------------------------------


@pytest.fixture
async def strict(
    store: Store, slack_fake: SlackFake, mattermost_fake: MattermostFake
) -> AsyncIterator[LiveBot]:
    """A live bot where only alice may escalate (and so test channels)."""
    port = free_port()
    settings = chat_settings(
        port,
        slack_fake,
        mattermost_fake,
        permissions={"ack": ["*"], "escalate": ["slack:U2147483697"]},
    )
    bot, stop, task = await start(settings, store)
    try:
        yield LiveBot(bot, f"http://127.0.0.1:{port}", slack_fake, mattermost_fake)
    finally:
        stop.set()
        await task


async def test_perf_test_from_slack_sends_for_permitted_users_only(strict: LiveBot) -> None:
    mallory = strict.slack_user(MALLORY_SLACK)
    sent = await mallory.slash("test oncall-mm")

    async def answered() -> bool:
        return bool(mallory.replies(sent))

    await eventually(answered)
    [refused] = mallory.replies(sent)
    assert "you are not allowed to escalate alerts" in refused["text"]
    assert strict.mattermost.posts == {}

    alice = strict.slack_user()
    sent = await alice.slash("test oncall-mm")

    async def replied() -> bool:
        return bool(alice.replies(sent))

    await eventually(replied)
    [reply] = alice.replies(sent)
    assert reply["text"].startswith("Test message delivered to oncall-mm")
    [post] = strict.mattermost.posts.values()
    assert "[TEST]" in post["message"]
    assert post["id"] in str(reply["blocks"])

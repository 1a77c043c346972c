"""Slack end to end over real HTTP: signed slash commands get their answers through the
response_url, forged and stale requests get 401 and change nothing, and a click on an alert's
Acknowledge button acknowledges it, is audited, and edits the alert's message on Slack
(chat.update) and on Mattermost (post patch) through the delivery outbox."""

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import aiohttp

from bot.models import ActorSource, AlertStatus
from bot.store import Store
from tests.acceptance.conftest import LiveBot, chat_settings, start
from tests.acceptance.slack_user import Sent, SlackUser
from tests.fakes.mattermost import MattermostFake
from tests.fakes.server import free_port
from tests.fakes.slack import SlackFake
from tests.polling import eventually
from tests.seed import World, seed


async def answer(user: SlackUser, sent: Sent, *, within: float = 10.0) -> dict[str, Any]:
    """The first reply perfbot posted to the request's response_url."""
    await eventually(lambda: _has_reply(user, sent), within=within)
    return user.replies(sent)[0]


async def _has_reply(user: SlackUser, sent: Sent) -> bool:
    return bool(user.replies(sent))


def shown(message: dict[str, Any]) -> str:
    """The text of a Block Kit message: fallback text and every section and field."""
    parts = [message.get("text", "")]
    for block in message.get("blocks", []):
        if "text" in block and isinstance(block["text"], dict):
            parts.append(block["text"]["text"])
        parts.extend(f["text"] for f in block.get("fields", []))
        parts.extend(
            e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)
        )
    return "\n".join(parts)


async def seeded(live: LiveBot) -> World:
    return await seed(live.bot.store, live.bot.alerts, live.bot.clock.now())


async def test_every_command_answers_through_the_response_url(live: LiveBot) -> None:
    world = await seeded(live)
    user = live.slack_user()
    commit, merge = world.alerts["commit"].id, world.alerts["merge"].id
    script = [
        # (command text, response_type, something the answer must say)
        ("help", "ephemeral", "perfbot commands"),
        ("anomalies", "ephemeral", "2 anomalies in the last 24h: 1 CRITICAL, 1 WARNING"),
        ("anomalies merge --severity critical", "ephemeral", "1 anomaly of merge"),
        ("alerts", "ephemeral", "2 open alerts"),
        (f"ack {commit} on it", "in_channel", f"Alert #{commit} acknowledged by alice"),
        (f"unack {commit}", "in_channel", f"Alert #{commit} is open again"),
        (f"escalate {merge}", "in_channel", f"#{merge}"),
        ("silence commit 2h deploy", "in_channel", "Silenced operation commit until"),
        ("silences", "ephemeral", "1 active silence"),
        ("unsilence 1", "in_channel", "Silence #1 ended"),
        (f"resolve {commit} fixed", "in_channel", f"Alert #{commit} resolved by alice"),
        ("bottlenecks", "ephemeral", "merge ↔ merge_branches"),
        ("trends commit", "ephemeral", "commit, last 7 days (UTC days, today partial): p99"),
        ("merges --since 6h", "ephemeral", "20 merges in the last 6h: 75% landed"),
        ("baselines commit", "ephemeral", "Baseline of commit"),
        ("jobs", "ephemeral", "jobs:"),
        (
            "route test severity=warning op=commit",
            "ephemeral",
            "route everything: oncall-slack, oncall-mm",
        ),
        ("status", "ephemeral", "perfbot"),
        ("ack 9999", "ephemeral", "there is no alert #9999"),
        ("anomalys", "ephemeral", "Did you mean anomalies?"),
    ]
    for text, response_type, expected in script:
        sent = await user.slash(text)
        assert (sent.status, sent.body) == (200, ""), text  # acknowledged at once, empty body
        reply = await answer(user, sent)
        assert reply["response_type"] == response_type, (text, shown(reply))
        assert expected in shown(reply), (text, shown(reply))
    stored = await live.bot.store.alerts.get(commit)
    assert stored is not None
    assert stored.status is AlertStatus.RESOLVED
    async with (
        aiohttp.ClientSession(trust_env=False) as session,
        session.get(f"{live.url}/metrics") as response,
    ):
        exposition = await response.text()
    count = f'perfbot_slash_command_seconds_count{{platform="slack"}} {float(len(script))}'
    assert count in exposition


async def test_trends_bring_their_chart(live: LiveBot) -> None:
    await seeded(live)
    user = live.slack_user()
    reply = await answer(user, await user.slash("trends merge --days 2"))
    [image] = [b for b in reply["blocks"] if b["type"] == "image"]
    upload = live.slack.files[image["slack_file"]["id"]]
    assert upload.completed
    assert upload.content.startswith(b"\x89PNG")
    assert upload.channel is None  # private to the bot: the reply itself is ephemeral
    assert upload.title == "merge latency, last 2 days"


async def test_forged_and_stale_requests_are_refused_and_change_nothing(live: LiveBot) -> None:
    world = await seeded(live)
    alert = world.alerts["commit"]
    user = live.slack_user()
    forged = await user.slash(f"ack {alert.id}", secret="not-the-signing-secret")
    stale = await user.slash(f"ack {alert.id}", age_s=6 * 60)
    for sent in (forged, stale):
        assert sent.status == 401
        assert "invalid request" in sent.body
    # A barrier, not a wait: a signed request sent after them is answered; work the refused
    # ones had (wrongly) started would have been started before it.
    await answer(user, await user.slash("help"))
    assert user.replies(forged) == []
    assert user.replies(stale) == []
    stored = await live.bot.store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.OPEN
    assert [e.action for e in await live.bot.store.alerts.events(alert.id)] == ["fired"]


def _message_with_buttons(live: LiveBot, alert_id: int) -> dict[str, Any] | None:
    for message in live.slack.messages.values():
        for block in message.get("blocks", []):
            for element in block.get("elements", []):
                if element.get("value") == str(alert_id):
                    return message
    return None


def _slack_actions(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"]
        for b in message.get("blocks", [])
        if b.get("type") == "actions"
        for e in b.get("elements", [])
    ]


def _mattermost_actions(post: dict[str, Any]) -> list[str]:
    return [a["id"] for att in post["props"].get("attachments", []) for a in att.get("actions", [])]


async def test_acknowledge_button_changes_the_alert_everywhere(live: LiveBot) -> None:
    world = await seeded(live)
    alert = world.alerts["merge"]

    async def posted() -> bool:
        return _message_with_buttons(live, alert.id) is not None and any(
            f"#{alert.id}" in p["props"]["attachments"][0]["footer"]
            for p in live.mattermost.posts.values()
        )

    await eventually(posted)  # the outbox delivered the alert to both platforms
    message = _message_with_buttons(live, alert.id)
    assert message is not None
    assert "perf_ack" in _slack_actions(message)
    post = next(
        p
        for p in live.mattermost.posts.values()
        if f"#{alert.id}" in p["props"]["attachments"][0]["footer"]
    )
    assert _mattermost_actions(post)[0] == "ack"

    user = live.slack_user()
    sent = await user.click("perf_ack", alert.id, message["ts"])
    assert sent.status == 200
    reply = await answer(user, sent)
    assert reply["response_type"] == "ephemeral"
    assert reply["replace_original"] is False
    assert f"Alert #{alert.id} acknowledged by alice" in reply["text"]

    stored = await live.bot.store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.ACKNOWLEDGED
    [*_, event] = await live.bot.store.alerts.events(alert.id)
    assert (event.action, event.actor, event.source, event.details.get("user_id")) == (
        "acknowledged",
        "alice (slack:U2147483697)",
        ActorSource.SLACK,
        "slack:U2147483697",
    )

    async def edited_everywhere() -> bool:
        return _slack_actions(message)[:1] == ["perf_unack"] and _mattermost_actions(post)[:1] == [
            "unack"
        ]

    await eventually(edited_everywhere)
    [update, *_] = [
        c for c in live.slack.calls_to("chat.update") if c.args.get("ts") == message["ts"]
    ]
    assert "acknowledged by alice" in str(update.args.get("text"))
    assert any(c.method == "PUT /posts/{id}/patch" for c in live.mattermost.calls)


async def test_a_click_without_permission_is_refused_and_audited(live: LiveBot) -> None:
    world = await seeded(live)
    alert = world.alerts["commit"]
    mallory = live.slack_user(("U0MALLORY", "mallory"))
    sent = await mallory.click("perf_silence_1h", alert.id, "1700000000.000100")
    reply = await answer(mallory, sent)
    assert "you are not allowed to silence alerts" in reply["text"]
    assert reply["response_type"] == "ephemeral"
    assert await live.bot.store.alerts.active_silences(live.bot.clock.now()) == []
    [*_, event] = await live.bot.store.alerts.events(alert.id)
    assert (event.action, event.actor, event.details["attempted"]) == (
        "refused",
        "mallory (slack:U0MALLORY)",
        "silence",
    )


async def test_socket_mode_runs_with_the_bot(
    store: Store, slack_fake: SlackFake, mattermost_fake: MattermostFake
) -> None:
    port = free_port()
    settings = chat_settings(
        port,
        slack_fake,
        mattermost_fake,
        slack={
            "bot_token": slack_fake.token,
            "app_token": slack_fake.app_token,
            "api_url": slack_fake.api_url,
        },
    )
    bot, stop, task = await start(settings, store)
    try:
        await slack_fake.wait_for_call("socket", within=10)
        assert slack_fake.calls_to("apps.connections.open")[0].headers["Authorization"] == (
            f"Bearer {slack_fake.app_token}"
        )
        world = await seed(store, bot.alerts, bot.clock.now())
        user = SlackUser(slack_fake, "unused")
        response_url = slack_fake.new_response_url()
        payload = dict(parse_qsl(user.slash_body(f"ack {world.alerts['commit'].id}", response_url)))
        await slack_fake.socket_send(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": payload,
            }
        )
        await slack_fake.wait_for_call("socket_ack", within=10)
        assert slack_fake.socket_acks[0]["envelope_id"] == "env-1"
        sent = Sent(200, "", response_url)
        reply = await answer(user, sent)
        assert reply["response_type"] == "in_channel"
        assert "acknowledged by alice" in reply["text"]
    finally:
        stop.set()
        async with asyncio.timeout(20):
            await task
    assert all(ws.closed for ws in slack_fake.sockets)  # closed with the bot


async def test_a_link_button_click_is_acknowledged_and_changes_nothing(live: LiveBot) -> None:
    # Slack opens a URL button's link itself and still reports the click: it must get its 200
    world = await seeded(live)
    alert = world.alerts["commit"]
    user = live.slack_user()
    before = await live.bot.store.alerts.events(alert.id)
    sent = await user.click("perf_link_0", alert.id, "1700000000.000100")
    assert sent.status == 200
    assert await live.bot.store.alerts.events(alert.id) == before
    assert user.replies(sent) == []

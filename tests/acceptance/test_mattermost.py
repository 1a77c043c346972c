"""Mattermost end to end over real HTTP: the slash command with its token (header or form)
answers in CommandResponse JSON, a wrong or missing token gets 401 and runs nothing, and button
clicks on alert posts (through the stand-in's click, which POSTs the real integration request)
act when the context is signed by perfbot and are refused unchanged when it is not."""

from typing import Any

import aiohttp

from bot.models import ActorSource, AlertStatus
from tests.acceptance.conftest import MM_COMMAND_TOKEN, LiveBot
from tests.fakes import mattermost
from tests.polling import eventually
from tests.seed import World, seed


def form(
    text: str, *, token: str | None = None, user: tuple[str, str] = (mattermost.ALICE_ID, "alice")
) -> dict[str, str]:
    fields = {
        "channel_id": mattermost.CHANNEL_ID,
        "channel_name": "perf-alerts",
        "command": "/perf",
        "response_url": "http://127.0.0.1:9/hooks/commands/x",
        "team_domain": "eng",
        "team_id": mattermost.TEAM_ID,
        "text": text,
        "trigger_id": "t",
        "user_id": user[0],
        "user_name": user[1],
    }
    if token is not None:
        fields["token"] = token
    return fields


async def command(
    live: LiveBot, text: str, *, header: str | None = None, token: str | None = None, **kw: Any
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if header is not None:
        headers["Authorization"] = header
    async with (
        aiohttp.ClientSession(trust_env=False, timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.post(
            f"{live.url}/mattermost/command", data=form(text, token=token, **kw), headers=headers
        ) as response,
    ):
        return response.status, await response.json()


async def seeded(live: LiveBot) -> World:
    return await seed(live.bot.store, live.bot.alerts, live.bot.clock.now())


async def test_slash_command_answers_in_mattermost_format(live: LiveBot) -> None:
    world = await seeded(live)
    status, body = await command(live, "anomalies", header=f"Token {MM_COMMAND_TOKEN}")
    assert status == 200
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("**2 anomalies in the last 24h: 1 CRITICAL, 1 WARNING**")
    assert "| when (UTC) | operation |" in body["text"]

    alert = world.alerts["commit"]
    status, body = await command(live, f"ack {alert.id} mine", token=MM_COMMAND_TOKEN)
    assert status == 200
    assert body["response_type"] == "in_channel"
    assert f"Alert #{alert.id} acknowledged by alice" in body["text"]
    assert {"short": True, "title": "Note", "value": "mine"} in body["attachments"][0]["fields"]
    [*_, event] = await live.bot.store.alerts.events(alert.id)
    assert (event.action, event.source, event.details.get("user_id")) == (
        "acknowledged",
        ActorSource.MATTERMOST,
        f"mattermost:{mattermost.ALICE_ID}",
    )

    status, body = await command(live, "alerts", header=f"Token {MM_COMMAND_TOKEN}")
    [card] = body["attachments"]
    [button] = card["actions"]  # only the open alert gets an Acknowledge button
    assert button["id"] == f"ack{world.alerts['merge'].id}"
    assert button["integration"]["url"] == f"{live.url}/mattermost/actions"


async def test_wrong_or_missing_token_gets_401_and_runs_nothing(live: LiveBot) -> None:
    world = await seeded(live)
    alert = world.alerts["commit"]
    for kwargs in (
        {"header": "Token wrong"},
        {"token": "wrong"},
        {},
        {"header": f"Bearer {MM_COMMAND_TOKEN}"},
    ):
        status, body = await command(live, f"ack {alert.id}", **kwargs)
        assert status == 401, kwargs
        assert body == {"error": "invalid command token"}
    stored = await live.bot.store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.OPEN


def _post_of(live: LiveBot, alert_id: int) -> dict[str, Any] | None:
    return next(
        (
            p
            for p in live.mattermost.posts.values()
            if f"#{alert_id} " in p["props"]["attachments"][0]["footer"] + " "
        ),
        None,
    )


async def test_signed_button_clicks_act_and_forged_ones_change_nothing(live: LiveBot) -> None:
    world = await seeded(live)
    alert = world.alerts["merge"]

    async def posted() -> bool:
        return _post_of(live, alert.id) is not None

    await eventually(posted)
    post = _post_of(live, alert.id)
    assert post is not None

    forged = await live.mattermost.click(
        post["id"], "ack", context={"action": "ack", "alert_id": alert.id, "sig": "0" * 64}
    )
    assert forged.status == 200
    assert forged.answer == {
        "ephemeral_text": "perfbot could not verify this button, so nothing was changed."
    }
    other = await live.mattermost.click(
        post["id"], "ack", context={"action": "resolve", "alert_id": alert.id}
    )
    assert other.answer is not None
    assert "could not verify" in other.answer["ephemeral_text"]
    stored = await live.bot.store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.OPEN

    clicked = await live.mattermost.click(post["id"], "ack")
    assert clicked.status == 200
    assert clicked.answer is not None
    assert (
        clicked.answer["ephemeral_text"]
        == f"Alert #{alert.id} acknowledged by alice (mattermost\\:{mattermost.ALICE_ID})"  # Markdown-escaped
    )
    stored = await live.bot.store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.ACKNOWLEDGED

    async def edited() -> bool:
        actions = [a["id"] for a in post["props"]["attachments"][0]["actions"]]
        return actions[:1] == ["unack"]

    await eventually(edited)  # the outbox patched the post

    denied = await live.mattermost.click(
        post["id"], "silence1h", user_id="ma11oryma11oryma11oryma11o", user_name="mallory"
    )
    assert denied.answer is not None
    assert denied.answer["ephemeral_text"].startswith(
        ":warning: you are not allowed to silence alerts"
    )
    assert await live.bot.store.alerts.active_silences(live.bot.clock.now()) == []

"""`perfbot notify test CHANNEL` against the stand-ins: the marked test card goes through the
channel's real notifier (Slack Web API, Mattermost REST, PagerDuty Events v2, a webhook, a real
SMTP server) and the outcome quotes what the platform answered; with a wrong token, channel,
scope or routing key it quotes the platform's error and says what to fix."""

from pathlib import Path
from typing import Any

import pytest

from bot import errors
from bot.clock import SystemClock
from bot.config import Settings
from bot.models import ChannelProbe
from bot.notify.probe import TEST_TITLE, ChannelTester
from tests.fakes import mattermost, pagerduty, slack
from tests.fakes.mattermost import MattermostFake
from tests.fakes.pagerduty import PagerDutyFake
from tests.fakes.slack import SlackFake
from tests.fakes.smtp import SmtpServer
from tests.fakes.webhook import WebhookReceiver


async def run(channel: dict[str, Any], **platforms: Any) -> ChannelProbe:
    settings = Settings.load(channels={"target": channel}, **platforms)
    return await ChannelTester(settings, SystemClock().now).test("target", "tester (console)")


def slack_settings(fake: SlackFake, token: str | None = None) -> dict[str, Any]:
    return {"slack": {"bot_token": token or fake.token, "api_url": fake.api_url}}


# ---- Slack ----------------------------------------------------------------------------------


async def test_slack_delivers_a_marked_card_without_buttons(slack_fake: SlackFake) -> None:
    probe = await run({"type": "slack", "channel": slack.CHANNEL_ID}, **slack_settings(slack_fake))
    assert probe.delivered, probe
    [message] = slack_fake.messages.values()
    assert message["text"].startswith("[TEST]")
    assert TEST_TITLE in message["text"]
    assert all(b["type"] != "actions" for b in message["blocks"])
    assert probe.answer == (
        f"Slack accepted it: message ts {message['ts']} in channel {slack.CHANNEL_ID}"
    )


@pytest.mark.parametrize(
    ("setup", "code", "fix"),
    [
        ("token", "invalid_auth", "PERFBOT_SLACK__BOT_TOKEN"),
        ("channel", "channel_not_found", "invite the bot"),
        ("member", "not_in_channel", "invite it there"),
        ("scope", "missing_scope (needed: chat:write;", "Bot Token Scopes"),
    ],
)
async def test_slack_refusals_quote_slack_and_say_what_to_fix(
    slack_fake: SlackFake, setup: str, code: str, fix: str
) -> None:
    destination = slack.CHANNEL_ID
    token = None
    if setup == "token":
        token = "xoxb-wrong"
    elif setup == "channel":
        destination = "#no-such-channel"
    elif setup == "member":
        slack_fake.channels[slack.CHANNEL_ID]["is_member"] = False
        slack_fake.scopes.discard("chat:write.public")
    else:
        slack_fake.scopes.discard("chat:write")
    probe = await run(
        {"type": "slack", "channel": destination}, **slack_settings(slack_fake, token)
    )
    assert not probe.delivered
    assert probe.answer.startswith(f"chat.postMessage: {code}")
    assert probe.hint is not None
    assert fix in probe.hint
    assert slack_fake.messages == {}


# ---- Mattermost -----------------------------------------------------------------------------


def mm_settings(fake: MattermostFake, token: str | None = None) -> dict[str, Any]:
    return {"mattermost": {"url": fake.url, "token": token or fake.token}}


async def test_mattermost_delivers_a_marked_post(mattermost_fake: MattermostFake) -> None:
    probe = await run(
        {"type": "mattermost", "channel_id": mattermost.CHANNEL_ID},
        **mm_settings(mattermost_fake),
    )
    assert probe.delivered, probe
    [post] = mattermost_fake.posts.values()
    assert "[TEST]" in post["message"]
    assert post["props"]["attachments"][0]["actions"] == []
    assert probe.answer == (
        f"Mattermost created post {post['id']} in channel {mattermost.CHANNEL_ID}"
    )


@pytest.mark.parametrize(
    ("wrong", "status", "message", "fix"),
    [
        ("token", 401, "Invalid or expired session, please login again.", "MATTERMOST__TOKEN"),
        ("channel", 403, "You do not have the appropriate permissions.", "add it to the channel"),
    ],
)
async def test_mattermost_refusals_quote_its_message(
    mattermost_fake: MattermostFake, wrong: str, status: int, message: str, fix: str
) -> None:
    channel_id = "x" * 26 if wrong == "channel" else mattermost.CHANNEL_ID
    token = "wrong-token" if wrong == "token" else None
    probe = await run(
        {"type": "mattermost", "channel_id": channel_id}, **mm_settings(mattermost_fake, token)
    )
    assert not probe.delivered
    assert f"HTTP {status}" in probe.answer
    assert message in probe.answer
    assert probe.hint is not None
    assert fix in probe.hint
    assert mattermost_fake.posts == {}


# ---- PagerDuty ------------------------------------------------------------------------------


async def test_pagerduty_test_is_info_and_resolved_at_once(pagerduty_fake: PagerDutyFake) -> None:
    probe = await run(
        {"type": "pagerduty"},
        pagerduty={"routing_key": pagerduty.ROUTING_KEY, "events_url": pagerduty_fake.events_url},
    )
    assert probe.delivered, probe
    trigger, resolve = pagerduty_fake.events
    assert trigger["event_action"] == "trigger"
    assert trigger["payload"]["severity"] == "info"
    assert trigger["payload"]["summary"].startswith("[TEST]")
    assert resolve["event_action"] == "resolve"
    assert resolve["dedup_key"] == trigger["dedup_key"]
    assert pagerduty_fake.incidents == {trigger["dedup_key"]: "resolved"}
    assert trigger["dedup_key"] in probe.answer


async def test_pagerduty_unknown_routing_key_is_reported(pagerduty_fake: PagerDutyFake) -> None:
    probe = await run(
        {"type": "pagerduty"},
        pagerduty={"routing_key": "f" * 32, "events_url": pagerduty_fake.events_url},
    )
    assert not probe.delivered
    assert probe.answer.startswith("HTTP 400")
    assert "Invalid routing key" in probe.answer
    assert probe.hint is not None
    assert "Integration Key" in probe.hint
    assert pagerduty_fake.incidents == {}


# ---- webhook and email ----------------------------------------------------------------------


async def test_webhook_gets_a_test_event() -> None:
    async with WebhookReceiver() as receiver:
        probe = await run({"type": "webhook", "url": receiver.hook_url})
        assert probe.delivered, probe
        [call] = receiver.calls
    assert call.json()["event"] == "test"
    assert call.json()["alert"]["title"] == TEST_TITLE


async def test_webhook_refusal_is_reported() -> None:
    async with WebhookReceiver() as receiver:
        receiver.fail(403, times=1, body="forbidden: bad signature")
        probe = await run({"type": "webhook", "url": receiver.hook_url, "secret": "s"})
    assert not probe.delivered
    assert probe.answer == "HTTP 403: forbidden: bad signature"
    assert probe.hint is not None
    assert "secret" in probe.hint


def email_settings(smtp: SmtpServer) -> dict[str, Any]:
    return {"email": {"host": smtp.host, "port": smtp.port, "from": "perfbot@perfbot.test"}}


async def test_email_test_mail_is_marked(smtp_server: SmtpServer) -> None:
    probe = await run(
        {"type": "email", "to": ["oncall@perfbot.test"]}, **email_settings(smtp_server)
    )
    assert probe.delivered, probe
    [mail] = smtp_server.received
    assert mail.message["Subject"].startswith("[TEST] perfbot:")
    assert probe.answer == "the SMTP server accepted the mail to oncall@perfbot.test"


async def test_email_refused_recipient_quotes_the_smtp_reply(make_smtp_server: Any) -> None:
    smtp = make_smtp_server(refuse={"gone@perfbot.test"})
    probe = await run({"type": "email", "to": ["gone@perfbot.test"]}, **email_settings(smtp))
    assert not probe.delivered
    assert probe.answer.endswith(
        "refused every recipient (gone@perfbot.test): "
        "550 5.1.1 <gone@perfbot.test>: Recipient address rejected"
    )
    assert probe.hint is not None


# ---- unknown channel ------------------------------------------------------------------------


async def test_unknown_channel_names_the_configured_ones(tmp_path: Path) -> None:
    settings = Settings.load(channels={"terminal": {"type": "console"}})
    with pytest.raises(errors.NotFound, match="terminal"):
        await ChannelTester(settings, SystemClock().now).test("nope", "tester")


async def test_email_bad_login_quotes_the_535(make_smtp_server: Any) -> None:
    smtp = make_smtp_server(auth=("perfbot", "right"))
    settings = email_settings(smtp)
    settings["email"] |= {"username": "perfbot", "password": "wrong"}
    probe = await run({"type": "email", "to": ["oncall@perfbot.test"]}, **settings)
    assert not probe.delivered
    assert "SMTP authentication failed" in probe.answer
    assert ": 535 " in probe.answer
    assert probe.hint is not None
    assert "PERFBOT_EMAIL__PASSWORD" in probe.hint
    assert smtp.received == []

"""Command replies echo what users typed (silence patterns, escalate reasons) and operation
names, and in-channel replies are seen by everyone: rendered for Slack, Mattermost and the
terminal, none of that text becomes a mention, a link, an image, markup or a control sequence."""

import re
from typing import Any

import pytest

from bot.chat import console_reply, mattermost_reply, slack_reply
from bot.commands.reply import Fields, Paragraph, Reply, table
from bot.notify.mattermost_sign import Signer
from tests.unit.notify.test_render_escaping import (
    ATTACKS,
    TERMINAL,
    mentions,
    mrkdwn_texts,
    slack_specials,
)


def echo(attack: str) -> Reply:
    """A reply as `/perf silence` and `/perf escalate` give: the user's text in every block."""
    return Reply(
        text=f"Silenced {attack} for 1h",
        blocks=(
            Paragraph(f"reason: {attack}"),
            Paragraph(f"```{attack}```", mono=True),
            Fields((("Pattern", attack), ("Reason", attack))),
            table(("pattern", "by"), [(attack, attack)], title=attack),
        ),
        in_channel=True,
        error=False,
    )


@pytest.mark.parametrize("attack", ATTACKS)
def test_slack_reply(attack: str) -> None:
    message = slack_reply.message(echo(attack))
    texts = [message["text"]] + [m["text"] for m in mrkdwn_texts(message["blocks"])]
    for text in texts:
        assert slack_specials(text) == [], text
    assert all(m.get("verbatim") is True for m in mrkdwn_texts(message["blocks"]))


def mattermost_markdown(body: dict[str, Any]) -> list[str]:
    values = [f["value"] for a in body.get("attachments", []) for f in a["fields"]]
    return [body["text"], *values]


@pytest.mark.parametrize("attack", ATTACKS)
def test_mattermost_reply(attack: str) -> None:
    body = mattermost_reply.response(
        echo(attack), actions_url="http://bot/a", signer=Signer("k", 3600), channel_id="c1"
    )
    ephemeral = mattermost_reply.ephemeral(echo(attack))["ephemeral_text"]
    for text in [*mattermost_markdown(body), ephemeral]:
        # outside the fenced code block (which Mattermost neither formats nor scans)
        prose = re.sub(r"(?ms)^(`{3,})\n.*?\n\1$", "", text)
        assert mentions(prose) == set(), text
        assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", prose), text
        assert not re.search(r"(?<!\\)(https?|ftp)://", prose), text
    assert "\n" not in body["attachments"][0]["fallback"]


def test_mattermost_code_fence_cannot_be_closed_by_the_text() -> None:
    body = mattermost_reply.response(echo("```\n@channel [x](https://evil.example)\n```"))
    fence = re.search(r"(?m)^(`{3,})$", body["text"])
    assert fence is not None
    assert len(fence.group(1)) > 3  # longer than the run of backticks inside


def test_console_reply_shows_control_characters_escaped() -> None:
    out = console_reply.render(echo(TERMINAL))
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\\x1b[2J" in out
    assert "\n" in out  # perfbot's own line breaks stay

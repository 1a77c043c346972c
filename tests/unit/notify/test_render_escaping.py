"""Every renderer with the issue's attacks in every dynamic string (operation names, titles,
user names, fingerprints, pairs, recommendations, grouped alerts): nothing from the data
becomes a mention, a link, an image, markup, a header line or a terminal control sequence;
only perfbot's own mention builders emit mentions."""

import io
import json
import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from rich.console import Console

from bot.models import AlertStatus
from bot.notify import Notification, console_render, email_render, escape
from bot.notify import mattermost_render as mm
from bot.notify import slack_render as sl
from bot.notify.mattermost_sign import Binding, Signer
from tests.unit.notify.factories import make_alert, make_bottleneck, make_notification, make_series

SLACK_ATTACK = (
    "<!channel> prod DB is down, re-login at <https://evil.example/sso|https://sso.example.com>"
)
MM_ATTACK = (
    "@channel [Acknowledge here](https://evil.example/ack) ![t](https://evil.example/pixel.png)"
)
NEWLINE = "commit\nBcc: victim@example.com"
TERMINAL = "commit\x1b[2J\x1b[31mALL CLEAR\x07"
ATTACKS = (SLACK_ATTACK, MM_ATTACK, NEWLINE, TERMINAL)


def hostile(attack: str, event: str = "fired", **overrides: Any) -> Notification:
    """A bottleneck alert with `attack` in every string that comes from outside perfbot, one
    grouped child titled with it, escalation handles from the configuration, and a series."""
    child = make_alert(id=43, title=f"{attack} latency anomaly", operation_types=(attack,))
    alert = make_bottleneck(
        title=f"{attack} latency anomaly",
        operation_types=(attack, "commit"),
        fingerprint=f"anomaly:{attack}",
        summary=f"{attack} slow",
        status=overrides.pop("status", AlertStatus.ACKNOWLEDGED),
        acknowledged_by=attack,
        escalation_step=1,
        details={
            "r": 0.9,
            "pairs": [{"a": attack, "b": "commit", "r": 0.9, "n": 40}],
            "recommendations": [f"see {attack}"],
        },
    )
    return make_notification(
        event,
        alert,
        children=(child,),
        mention=("@here", "U0ONCALL", "dba-oncall"),
        series=make_series(operation=attack),
        **overrides,
    )


def mrkdwn_texts(payload: Any) -> Iterator[dict[str, Any]]:
    if isinstance(payload, dict):
        if payload.get("type") == "mrkdwn":
            yield payload
        for value in payload.values():
            yield from mrkdwn_texts(value)
    elif isinstance(payload, list):
        for item in payload:
            yield from mrkdwn_texts(item)


def slack_specials(text: str) -> list[str]:
    """Every `<…>` sequence Slack would act on."""
    return re.findall(r"<[^<>]*>", text)


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("event", ["fired", "escalated"])
def test_slack_messages_carry_only_perfbot_mentions(attack: str, event: str) -> None:
    n = hostile(attack, event)
    message = sl.render(n)
    texts = [message["text"]] + [m["text"] for m in mrkdwn_texts(message["blocks"])]
    reply = sl.thread_reply(n)
    texts += [reply["text"], *(m["text"] for m in mrkdwn_texts(reply["blocks"]))]
    ours = {"<!here>", "<@U0ONCALL>"}
    for text in texts:
        assert set(slack_specials(text)) <= ours, text
        assert "<https://" not in text
    assert all(m.get("verbatim") is True for m in mrkdwn_texts(message["blocks"]))
    assert all(m.get("verbatim") is True for m in mrkdwn_texts(reply["blocks"]))
    assert "@dba-oncall" in message["text"]  # a handle that is no Slack id is shown, not linked
    header = message["blocks"][0]
    assert header["text"]["type"] == "plain_text"  # shown as typed by Slack, never parsed


def test_slack_attack_arrives_as_text() -> None:
    message = sl.render(hostile(SLACK_ATTACK))
    body = json.dumps(message["blocks"][1:])
    assert "&lt;!channel&gt; prod DB is down" in body
    assert "&lt;https://evil.example/sso|https://sso.example.com&gt;" in body
    assert "<!channel>" not in body
    assert "<https://evil" not in body


def mattermost_markdown(post: dict[str, Any], reply: str) -> list[str]:
    """The strings Mattermost renders as Markdown (and scans for mentions)."""
    [attachment] = post["props"]["attachments"]
    return [
        post["message"],
        attachment["title"],
        attachment["text"],
        reply,
        *(field["value"] for field in attachment["fields"]),
    ]


def mentions(text: str) -> set[str]:
    """The words Mattermost's server takes for mentions: split where it splits."""
    words = "".join(c if c.isalnum() or c in ".-_:@" else " " for c in text).split()
    return {w.lower().rstrip(".-:") for w in words if w.startswith("@") and len(w) > 1}


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("event", ["fired", "escalated"])
def test_mattermost_posts_carry_only_perfbot_mentions(attack: str, event: str) -> None:
    n = hostile(attack, event)
    post = mm.render(
        n,
        actions_url="http://bot/mattermost/actions",
        signer=Signer("k", 3600),
        binding=Binding("channel", "c1"),
        now=0.0,
    )
    for text in mattermost_markdown(post, mm.thread_reply(n)):
        assert mentions(text) <= {"@here", "@u0oncall", "@dba-oncall"}, text
        assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", text), text  # no [x](y) or ![x](y)
        assert not re.search(r"(?<!\\)(https?|ftp)://", text), text  # nothing auto-linked
        assert "\x1b" not in text or attack == TERMINAL
    [attachment] = post["props"]["attachments"]
    assert "\n" not in attachment["fallback"]
    assert "\n" not in attachment["footer"]


def test_mattermost_attack_is_defused_but_readable() -> None:
    post = mm.render(
        hostile(MM_ATTACK),
        actions_url=None,
        signer=None,
        binding=Binding("channel", "c1"),
        now=0.0,
    )
    title = post["props"]["attachments"][0]["title"]
    assert title.startswith(escape.mattermost(MM_ATTACK))
    assert title.replace("\\", "").replace(escape.WORD_JOINER, "").startswith(MM_ATTACK)


def test_email_with_a_newline_in_the_name_renders_one_subject_line() -> None:
    for attack in ATTACKS:
        mail = email_render.render(hostile(attack), sender="perfbot@example.com", to=["o@x"])
        parsed = message_from_bytes(mail.as_bytes(), policy=policy.default)
        assert parsed["Bcc"] is None
        assert "\n" not in str(parsed["Subject"])
        assert "\r" not in str(parsed["Subject"])
        [html_part] = [p for p in parsed.walk() if p.get_content_type() == "text/html"]
        html = html_part.get_content()
        assert "<!channel>" not in html
        assert "<https://evil" not in html
        assert "&lt;!channel&gt;" in html or attack != SLACK_ATTACK


def test_console_shows_control_characters_escaped() -> None:
    console = Console(file=io.StringIO(), width=200, force_terminal=True, color_system=None)
    n = hostile(TERMINAL)
    console.print(console_render.render(n))
    console.print(console_render.update_line(n))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[2J" not in out
    assert "\x07" not in out
    assert "\\x1b[2J\\x1b[31mALL CLEAR\\x07" in out

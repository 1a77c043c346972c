"""Each front end's rendering of a `Reply`: Slack Block Kit within Slack's limits, Mattermost
CommandResponse JSON with signed, unique buttons, and plain terminal text."""

from bot.chat import console_reply, mattermost_reply, slack_reply
from bot.commands.reply import Button, Buttons, Fields, Image, Paragraph, Reply, Table, table
from bot.notify.mattermost_sign import Signer, check_click

REPLY = Reply(
    text="2 open alerts <&>",
    blocks=(
        Paragraph("first line\nsecond | line"),
        Fields((("Severity", "CRITICAL"), ("Note", "x" * 60))),
        table(("id", "title"), [("#1", "a | b"), ("#2", "c")], title="Alerts"),
        Buttons(
            (
                Button("Acknowledge #1", "ack", 1, "primary", 3, "open/critical/0/0/0"),
                Button("Silence #2", "silence1h", 2, None, 1, "open/warning/0/0/0"),
            )
        ),
    ),
    in_channel=True,
)


def test_slack_blocks() -> None:
    message = slack_reply.message(REPLY)
    assert message["response_type"] == "in_channel"
    assert message["text"] == "2 open alerts &lt;&amp;&gt;"  # the fallback text is escaped too
    head, para, fields, tab, ack, silence = message["blocks"]
    assert head["text"]["text"] == "*2 open alerts &lt;&amp;&gt;*"
    assert para["text"]["text"] == "first line\nsecond | line"
    assert [f["text"] for f in fields["fields"]] == ["*Severity*\nCRITICAL", "*Note*\n" + "x" * 60]
    assert tab["text"]["text"].startswith("*Alerts*\n```id  title\n")
    assert "#1  a | b" in tab["text"]["text"]
    assert ack["elements"][0] == {
        "type": "button",
        "action_id": "perf_ack",
        "text": {"type": "plain_text", "text": "Acknowledge #1", "emoji": True},
        "value": "1",
        "style": "primary",
    }
    assert silence["elements"][0]["action_id"] == "perf_silence_1h"
    assert silence["elements"][0]["confirm"]["confirm"]["text"] == "Silence"
    assert ack["block_id"] != silence["block_id"]


def test_slack_respects_its_limits() -> None:
    rows = [(str(i), "y" * 40) for i in range(200)]
    big = Reply(
        text="t" * 5000,
        blocks=(*tuple(Paragraph(f"p{i}") for i in range(80)), table(("n", "v"), rows)),
    )
    blocks = slack_reply.blocks(big)
    assert len(blocks) == 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if "text" in b)
    huge = slack_reply.blocks(Reply(text="x", blocks=(table(("n", "v"), rows),)))
    assert len(huge[1]["text"]["text"]) <= 3000
    assert huge[2]["elements"][0]["text"].endswith("more rows did not fit")


def test_slack_image_block_points_at_the_uploaded_file() -> None:
    reply = Reply(text="trend", image=Image(b"\x89PNG", "c.png", "commit p99", "chart"))
    assert [b["type"] for b in slack_reply.blocks(reply)] == ["section"]
    [_, image] = slack_reply.blocks(reply, image_file_id="F123")
    assert image == {
        "type": "image",
        "slack_file": {"id": "F123"},
        "alt_text": "chart",
        "title": {"type": "plain_text", "text": "commit p99"},
    }


def test_errors_are_marked() -> None:
    error = Reply(text="no such alert", error=True)
    assert slack_reply.blocks(error)[0]["text"]["text"] == ":warning: *no such alert*"
    assert mattermost_reply.response(error)["text"] == ":warning: **no such alert**"
    assert console_reply.render(error) == "error: no such alert"


def test_mattermost_response() -> None:
    body = mattermost_reply.response(
        REPLY,
        actions_url="http://bot/mattermost/actions",
        signer=Signer("k", 60),
        channel_id="chan1",
        now=1000.0,
    )
    assert body["response_type"] == "in_channel"
    assert body["skip_slack_parsing"] is True
    assert body["text"].startswith(
        "**2 open alerts \\<\\&>**\n\nfirst line\nsecond \\| line\n\n**Alerts**"
    )
    assert "| id | title |\n| --- | --- |\n| \\#1 | a \\| b |\n| \\#2 | c |" in body["text"]
    [card] = body["attachments"]
    assert card["fields"] == [
        {"short": True, "title": "Severity", "value": "CRITICAL"},
        {"short": False, "title": "Note", "value": "x" * 60},
    ]
    ack, silence = card["actions"]
    assert (ack["id"], ack["name"], ack["style"]) == ("ack1", "Acknowledge #1", "primary")
    assert (silence["id"], silence["style"]) == ("silence1h2", "danger")
    clicked = [
        check_click("k", b["integration"]["context"], "post1", "chan1", 1000.0)
        for b in (ack, silence)
    ]
    assert [(c.action, c.alert_id, c.version) for c in clicked] == [
        ("ack", 1, 3),
        ("silence1h", 2, 1),
    ]
    assert ack["integration"]["url"] == "http://bot/mattermost/actions"


def test_mattermost_without_an_actions_url_has_no_buttons() -> None:
    body = mattermost_reply.response(REPLY)
    assert body["attachments"][0]["actions"] == []
    assert "attachments" not in mattermost_reply.response(Reply(text="plain"))


def test_console_text() -> None:
    text = console_reply.render(REPLY)
    assert text.splitlines()[0] == "2 open alerts <&>"
    assert "  Severity: CRITICAL" in text
    assert "Alerts\nid  title\n──  ─────\n#1  a | b\n#2  c" in text
    assert "  Acknowledge #1: /perf ack 1" in text
    assert "  Silence #2: /perf silence alert=2 1h" in text
    assert Table(("a",), ()).rows == ()

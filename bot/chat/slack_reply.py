"""`Reply` as Slack Block Kit: the headline in bold, paragraphs as mrkdwn sections, fields as
section fields, tables as code blocks (Slack has no table element), buttons as actions blocks
with the same `action_id`s as the buttons on alert messages, and the chart as an image block
that points at an uploaded Slack file. Slack's limits hold: at most 50 blocks, 3000
characters per section, 10 fields per section, 2000 per field, 75 per button label.

A reply is plain text that often echoes what users typed (silence patterns, escalate reasons)
and operation names, and in-channel replies are seen by everyone: every string goes through
`bot.notify.escape.slack`, the fallback `text` too, and every mrkdwn object is `verbatim`, so
no mention, link or channel name comes out of a reply."""

from typing import Any

from bot.chat import tables
from bot.commands.reply import Button, Buttons, Fields, Paragraph, Reply, Table
from bot.notify import escape as esc
from bot.notify import slack_render
from bot.notify.slack_render import mrkdwn

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_TEXT = 3000

ACTION_IDS = {
    "ack": slack_render.ACTION_ACK,
    "unack": slack_render.ACTION_UNACK,
    "escalate": slack_render.ACTION_ESCALATE,
    "resolve": slack_render.ACTION_RESOLVE,
    "silence1h": slack_render.ACTION_SILENCE_1H,
}


escape = esc.slack


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(_cut(text, MAX_SECTION))}


def _table(table: Table) -> list[dict[str, Any]]:
    title = f"*{escape(table.title)}*\n" if table.title else ""
    body, shown = tables.fit(table, MAX_SECTION - len(title) - 8)
    out = [_section(f"{title}```{escape(body)}```")]
    notes = [table.note] if table.note else []
    if shown < len(table.rows):
        notes.append(f"{len(table.rows) - shown} more rows did not fit")
    if notes:
        out.append({"type": "context", "elements": [mrkdwn(escape("; ".join(notes)))]})
    return out


def _button(button: Button) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": ACTION_IDS[button.action],
        "text": {"type": "plain_text", "text": _cut(button.label, 75), "emoji": True},
        "value": str(button.alert_id),
    }
    if button.style:
        element["style"] = button.style
    if button.action == "resolve":
        element["confirm"] = slack_render.resolve_confirm(button.alert_id)
    if button.action == "silence1h":
        element["confirm"] = {
            "title": {"type": "plain_text", "text": f"Silence alert #{button.alert_id}?"},
            "text": mrkdwn("No notifications about it for 1 hour."),
            "confirm": {"type": "plain_text", "text": "Silence"},
            "deny": {"type": "plain_text", "text": "Cancel"},
            "style": "danger",
        }
    return element


def blocks(reply: Reply, *, image_file_id: str | None = None) -> list[dict[str, Any]]:
    """The reply's blocks; `image_file_id` is the uploaded chart's Slack file id."""
    marker = ":warning: " if reply.error else ""
    out: list[dict[str, Any]] = [_section(f"{marker}*{escape(reply.text)}*")]
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            text = escape(block.text)
            out.append(_section(f"```{text}```" if block.mono else text))
        elif isinstance(block, Fields):
            fields = [
                mrkdwn(_cut(f"*{escape(k)}*\n{escape(v)}", MAX_FIELD)) for k, v in block.items
            ]
            for start in range(0, len(fields), MAX_FIELDS):
                out.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
        elif isinstance(block, Table):
            out.extend(_table(block))
        elif isinstance(block, Buttons):
            # one actions block per button: action_ids must be unique within a block
            for button in block.items:
                out.append(
                    {
                        "type": "actions",
                        "block_id": f"perf_reply_{button.action}_{button.alert_id}",
                        "elements": [_button(button)],
                    }
                )
    if reply.image is not None and image_file_id is not None:
        out.append(
            {
                "type": "image",
                "slack_file": {"id": image_file_id},
                "alt_text": _cut(reply.image.alt, 2000),
                "title": {"type": "plain_text", "text": _cut(reply.image.title, 2000)},
            }
        )
    if len(out) > MAX_BLOCKS:
        out = [*out[: MAX_BLOCKS - 1], _section("_(the rest did not fit in one message)_")]
    return out


def message(reply: Reply, *, image_file_id: str | None = None) -> dict[str, Any]:
    """Arguments for `respond`/the response_url: response type, fallback text and blocks."""
    return {
        "response_type": "in_channel" if reply.in_channel else "ephemeral",
        "text": _cut(escape(reply.text), MAX_TEXT),
        "blocks": blocks(reply, image_file_id=image_file_id),
    }

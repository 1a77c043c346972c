"""`Reply` as a Mattermost `CommandResponse`: Markdown text (the headline in bold, paragraphs,
tables as Markdown tables, which Mattermost renders), fields and buttons in one message
attachment. Buttons post to perfbot's `/mattermost/actions` with a signed context, like the
buttons on alert posts (bound to the command's channel); their ids are alphanumeric and unique
within the post (Mattermost finds the clicked action by id).

A reply is plain text that often echoes what users typed (silence patterns, escalate reasons)
and operation names, and in-channel replies are seen by everyone: every string that Mattermost
reads as Markdown (the text, table cells, field values) goes through
`bot.notify.escape.mattermost`, so no mention, link, image or formatting comes out of a reply;
fixed-width paragraphs go into a code fence longer than any run of backticks in them."""

import re
from typing import Any

from bot.chat import tables
from bot.commands.reply import Buttons, Fields, Paragraph, Reply, Table
from bot.notify import escape
from bot.notify.mattermost_render import BUTTONS
from bot.notify.mattermost_sign import Binding, Signer

MAX_MESSAGE = 16383
MAX_TABLE_ROWS = 50


def _md_cell(text: str) -> str:
    return escape.mattermost(tables.cell(text))


def _code(text: str) -> str:
    """`text` in a fenced code block that nothing in it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def ephemeral(reply: Reply) -> dict[str, Any]:
    """The answer to a button click: the reply's headline as `ephemeral_text`."""
    prefix = ":warning: " if reply.error else ""
    return {
        "ephemeral_text": prefix + escape.mattermost(reply.text),
        "skip_slack_parsing": True,
    }


def _table(table: Table) -> str:
    lines = [f"**{escape.mattermost(table.title)}**", ""] if table.title else []
    lines.append("| " + " | ".join(_md_cell(c) for c in table.columns) + " |")
    lines.append("|" + "|".join(" --- " for _ in table.columns) + "|")
    lines.extend(
        "| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows[:MAX_TABLE_ROWS]
    )
    if table.note:
        lines.extend(["", f"_{escape.mattermost(table.note)}_"])
    return "\n".join(lines)


def text(reply: Reply) -> str:
    """The Markdown body: everything but fields and buttons."""
    marker = ":warning: " if reply.error else ""
    parts = [f"{marker}**{escape.mattermost(reply.text)}**"]
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            parts.append(_code(block.text) if block.mono else escape.mattermost(block.text))
        elif isinstance(block, Table):
            parts.append(_table(block))
    body = "\n\n".join(parts)
    return body if len(body) <= MAX_MESSAGE else body[: MAX_MESSAGE - 1] + "…"


def response(
    reply: Reply,
    *,
    actions_url: str | None = None,
    signer: Signer | None = None,
    channel_id: str | None = None,
    now: float = 0.0,
) -> dict[str, Any]:
    """The JSON answer to a slash command (or a post to its `response_url`); its buttons are
    bound to the command's `channel_id` and signed at unix time `now` (no buttons without URL,
    signer and channel)."""
    fields = [
        {"short": len(v) <= 40, "title": k, "value": escape.mattermost(v)}
        for block in reply.blocks
        if isinstance(block, Fields)
        for k, v in block.items
    ]
    actions = []
    if actions_url and signer is not None and channel_id:
        binding = Binding("channel", channel_id)
        for block in reply.blocks:
            if not isinstance(block, Buttons):
                continue
            for button in block.items:
                if button.version is None or button.state is None:
                    continue
                style = button.style or BUTTONS[button.action][1]
                actions.append(
                    {
                        "id": f"{button.action}{button.alert_id}",
                        "type": "button",
                        "name": button.label,
                        "style": style,
                        "integration": {
                            "url": actions_url,
                            "context": signer.context(
                                button.action,
                                button.alert_id,
                                button.version,
                                button.state,
                                binding,
                                now,
                            ),
                        },
                    }
                )
    out: dict[str, Any] = {
        "response_type": "in_channel" if reply.in_channel else "ephemeral",
        "text": text(reply),
        "skip_slack_parsing": True,
    }
    if fields or actions:
        fallback = " ".join(escape.email_header(reply.text).split())  # plain text, one line
        out["attachments"] = [{"fallback": fallback, "fields": fields, "actions": actions}]
    return out

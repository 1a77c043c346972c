"""`Reply` as a Mattermost `CommandResponse`: Markdown text (the headline in bold, paragraphs,
tables as Markdown tables, which Mattermost renders), fields and buttons in one message
attachment. Buttons post to perfbot's `/mattermost/actions` with a signed context, like the
buttons on alert posts (bound to the command's channel); their ids are alphanumeric and unique within the post (Mattermost
finds the clicked action by id)."""

from typing import Any

from bot.chat import tables
from bot.commands.reply import Buttons, Fields, Paragraph, Reply, Table
from bot.notify.mattermost_render import BUTTONS
from bot.notify.mattermost_sign import Binding, Signer

MAX_MESSAGE = 16383
MAX_TABLE_ROWS = 50


def _md_cell(text: str) -> str:
    return tables.cell(text).replace("|", "\\|")


def _table(table: Table) -> str:
    lines = [f"**{table.title}**", ""] if table.title else []
    lines.append("| " + " | ".join(_md_cell(c) for c in table.columns) + " |")
    lines.append("|" + "|".join(" --- " for _ in table.columns) + "|")
    lines.extend(
        "| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows[:MAX_TABLE_ROWS]
    )
    if table.note:
        lines.extend(["", f"_{table.note}_"])
    return "\n".join(lines)


def text(reply: Reply) -> str:
    """The Markdown body: everything but fields and buttons."""
    marker = ":warning: " if reply.error else ""
    parts = [f"{marker}**{reply.text}**"]
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            parts.append(f"```\n{block.text}\n```" if block.mono else block.text)
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
        {"short": len(v) <= 40, "title": k, "value": v}
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
        out["attachments"] = [{"fallback": reply.text, "fields": fields, "actions": actions}]
    return out

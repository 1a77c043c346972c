"""`Reply` as plain terminal text: the headline, facts as `label: value` lines, aligned tables,
and for buttons the command that does the same. Control characters other than line breaks and
tabs are shown escaped (`\\x1b`), so text from outside cannot drive the terminal."""

from bot.chat import tables
from bot.commands.registry import PREFIX
from bot.commands.reply import Buttons, Fields, Paragraph, Reply, Table
from bot.notify import escape

COMMANDS = {
    "ack": "ack {id}",
    "unack": "unack {id}",
    "escalate": "escalate {id}",
    "resolve": "resolve {id}",
    "silence1h": "silence alert={id} 1h",
}


def render(reply: Reply) -> str:
    parts = [f"error: {reply.text}" if reply.error else reply.text]
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Fields):
            width = max(len(k) for k, _ in block.items) if block.items else 0
            parts.append("\n".join(f"  {k + ':':<{width + 1}} {v}" for k, v in block.items))
        elif isinstance(block, Table):
            lines = [block.title] if block.title else []
            lines.append(tables.monospace(block))
            if block.note:
                lines.append(block.note)
            parts.append("\n".join(lines))
        elif isinstance(block, Buttons):
            parts.append(
                "\n".join(
                    f"  {b.label}: {PREFIX} {COMMANDS[b.action].format(id=b.alert_id)}"
                    for b in block.items
                )
            )
    if reply.image is not None:
        parts.append(f"(chart {reply.image.filename}: shown in Slack and Mattermost)")
    return escape.console_lines("\n\n".join(parts))

"""The `/perf` commands, shared by every front end (Slack, Mattermost, the console). Each
command is registered once in `registry`, gets a `CommandContext` and returns a `Reply`; the
front ends in `bot.chat` render replies. Nothing here imports a chat SDK (import-linter)."""

from bot.commands import alerts, findings, help, merges, silences, system, trends
from bot.commands.context import CommandContext
from bot.commands.registry import Registry
from bot.commands.reply import Reply
from bot.commands.service import Commands

__all__ = [
    "CommandContext",
    "Commands",
    "Registry",
    "Reply",
    "alerts",
    "findings",
    "help",
    "merges",
    "silences",
    "system",
    "trends",
]

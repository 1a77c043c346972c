"""The `/perf` commands, shared by every front end (Slack, Mattermost, the console). Each
command module declares its commands and adds them in `register(registry)`; `build_registry()`
makes the registry of them all, and `Commands` runs text through it for a user, giving each
command a `CommandContext`; the command returns a `Reply` that the front ends in `bot.chat`
render. Nothing here imports a chat SDK (import-linter)."""

from bot.commands.catalog import build_registry
from bot.commands.context import CommandContext
from bot.commands.registry import Registry
from bot.commands.reply import Reply
from bot.commands.service import Commands

__all__ = ["CommandContext", "Commands", "Registry", "Reply", "build_registry"]

"""`Commands`: the one object every front end holds. It builds a `CommandContext` for the user
who asked and runs the command text through the registry it was given; it never raises (except
on cancellation), so a front end always has a `Reply` to render."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.alerts import AlertService
from bot.clock import Clock
from bot.commands.context import CommandContext
from bot.commands.registry import Registry
from bot.commands.reply import Reply
from bot.config import Settings
from bot.routing.transition import Actor
from bot.store import Store


@dataclass(frozen=True)
class Commands:
    store: Store
    alerts: AlertService
    settings: Settings
    clock: Clock
    schedule: Mapping[str, timedelta] = field(default_factory=dict)
    registry: Registry = field(kw_only=True)  # bot.commands.build_registry()

    def context(self, user: Actor, *, images: bool = False) -> CommandContext:
        return CommandContext(
            self.store, self.alerts, self.settings, self.clock, user, self.schedule, images
        )

    async def run(self, text: str, user: Actor, *, images: bool = False) -> Reply:
        """The reply to `text` (with or without a leading `/perf`) for `user`."""
        return await self.registry.dispatch(text, self.context(user, images=images))

    def is_mutating(self, text: str) -> bool:
        """Whether `text` names a command that changes state (its reply goes in channel)."""
        return self.registry.is_mutating(text)

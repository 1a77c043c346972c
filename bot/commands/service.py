"""`Commands`: the one object every front end holds. It builds a `CommandContext` for the user
who asked and runs the command text through the registry it was given; it never raises (except
on cancellation), so a front end always has a `Reply` to render. A chat request that carries no
well-formed user id is refused before anything runs: identity is the user id, never a name."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.alerts import AlertService
from bot.clock import Clock
from bot.commands.context import ChannelTesting, CommandContext, UserDirectory
from bot.commands.registry import Registry
from bot.commands.reply import Reply
from bot.config import Settings
from bot.routing.transition import Actor
from bot.store import Store

logger = logging.getLogger(__name__)

NO_USER_ID = (
    "perfbot could not tell who sent this: the request has no valid user id, so nothing was run"
)


@dataclass(frozen=True)
class Commands:
    store: Store
    alerts: AlertService
    settings: Settings
    clock: Clock
    schedule: Mapping[str, timedelta] = field(default_factory=dict)
    registry: Registry = field(kw_only=True)  # bot.commands.build_registry()
    channels: ChannelTesting | None = field(default=None, kw_only=True)  # for /perf test
    users: UserDirectory | None = field(default=None, kw_only=True)  # Mattermost @name → id

    def context(self, user: Actor, *, images: bool = False) -> CommandContext:
        return CommandContext(
            self.store,
            self.alerts,
            self.settings,
            self.clock,
            user,
            self.schedule,
            images,
            self.channels,
            self.users,
        )

    async def run(self, text: str, user: Actor, *, images: bool = False) -> Reply:
        """The reply to `text` (with or without a leading `/perf`) for `user`."""
        if user.ident is None:
            logger.warning(
                "chat request without a user id refused",
                extra={"action": "request_refused", "reason": "no user id", "actor": user.label},
            )
            return Reply(text=NO_USER_ID, error=True)
        return await self.registry.dispatch(text, self.context(user, images=images))

    def is_mutating(self, text: str) -> bool:
        """Whether `text` names a command that changes state (its reply goes in channel)."""
        return self.registry.is_mutating(text)

"""What a command runs with: the store, the alert service, settings, the clock, who is asking,
the job schedule, whether the front end can show images, and the user directory (a port:
`bot.chat.mattermost_users.MattermostUsers` implements it; commands never talk to a server)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.alerts import AlertService
from bot.clock import Clock
from bot.config import Settings
from bot.routing.transition import Actor
from bot.store import Store


class UserDirectory(Protocol):
    """Turns a chat user name into that platform's user id."""

    async def mattermost_user_id(self, username: str) -> str | None:
        """The id the Mattermost server holds for `username` now, or None if none."""
        ...


@dataclass(frozen=True)
class CommandContext:
    """One command's world. `schedule` maps each scheduled job to the gap between its runs
    when all is well (for "overdue"); `images` says whether the front end shows PNG charts."""

    store: Store
    alerts: AlertService
    settings: Settings
    clock: Clock
    user: Actor
    schedule: Mapping[str, timedelta] = field(default_factory=dict)
    images: bool = False
    users: UserDirectory | None = None

    @property
    def now(self) -> datetime:
        return self.clock.now()

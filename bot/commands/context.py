"""What a command runs with: the store, the alert service, settings, the clock, who is asking,
the job schedule, whether the front end can show images, the channel tester and the user
directory (ports: `bot.notify.probe.ChannelTester` and `bot.chat.mattermost_users.MattermostUsers`
implement them; commands never import a notifier nor talk to a chat server)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.alerts import AlertService
from bot.clock import Clock
from bot.config import Settings
from bot.models import ChannelProbe
from bot.routing.transition import Actor
from bot.store import Store


class ChannelTesting(Protocol):
    """Sends a marked test card through a configured channel."""

    def names(self) -> list[str]:
        """The configured channel names."""
        ...

    async def test(self, channel: str, requested_by: str) -> ChannelProbe:
        """The platform's answer; raises NotFound for an unknown channel."""


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
    channels: ChannelTesting | None = None
    users: UserDirectory | None = None

    @property
    def now(self) -> datetime:
        return self.clock.now()

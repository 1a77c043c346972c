"""What a command runs with: the store, the alert service, settings, the clock, who is asking,
the job schedule and whether the front end can show images."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.alerts import AlertService
from bot.clock import Clock
from bot.config import Settings
from bot.routing.transition import Actor
from bot.store import Store


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

    @property
    def now(self) -> datetime:
        return self.clock.now()

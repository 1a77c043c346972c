"""The `alerts:` section: the alert lifecycle (`bot.config.build.lifecycle_policy` turns it
into the routing core's `LifecyclePolicy`)."""

from datetime import timedelta
from typing import Literal

from pydantic import Field

from bot.config.section import Section
from bot.durations import Duration


class AlertSettings(Section):
    """Alert lifecycle: auto-resolve after `resolve_after` without a new detection; `recurrence`
    alerts for one operation within `recurrence_window` make it CRITICAL; `repeat_every`
    re-notifies an unacknowledged open alert (null: never)."""

    resolve_after: Duration = timedelta(minutes=30)
    recurrence: int = Field(default=3, ge=2)
    recurrence_window: Duration = timedelta(hours=1)
    repeat_every: Duration | None = None
    min_severity: Literal["INFO", "WARNING", "CRITICAL"] = "WARNING"

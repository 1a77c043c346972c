"""The `silences:` section: limits on silences. The default is the routing core's
(`bot.routing.silence.MAX_BROAD`)."""

from datetime import timedelta

from pydantic import field_validator

from bot.config.section import Section
from bot.durations import Duration
from bot.routing.silence import MAX_BROAD, MAX_DURATION


class SilenceSettings(Section):
    """`max_broad`: how long a silence that mutes CRITICAL alerts of every operation (`*`, no
    operation, `severity=critical`) may last; at most 30 days."""

    max_broad: Duration = MAX_BROAD

    @field_validator("max_broad")
    @classmethod
    def _within_limits(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0) or value > MAX_DURATION:
            raise ValueError("must be more than 0s and at most 30d")
        return value

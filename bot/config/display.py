"""The `display:` section: how replies show dates to people."""

import zoneinfo

from pydantic import field_validator

from bot.config.section import Section, zone_name


class DisplaySettings(Section):
    """`timezone`: the zone whose calendar days `/perf trends` counts and labels (default UTC).
    Alert cards keep UTC timestamps, which every reader can compare."""

    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return zone_name(value)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

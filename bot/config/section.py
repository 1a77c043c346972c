"""The base of every configuration section: frozen, and unknown keys are errors."""

import zoneinfo

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A YAML section (or a part of one): immutable once loaded; a key it does not declare is
    reported as `<path>: Extra inputs are not permitted`."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def zone_name(value: str) -> str:
    """`value` if it names a time zone (IANA, e.g. `Europe/Paris`, or `UTC`), else a
    ValueError that says so: the validator of every `timezone` key."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Europe/Paris, "
            "America/New_York or UTC"
        ) from None
    return value

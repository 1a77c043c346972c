"""The vocabulary every aggregate shares: the frozen base model, strings and timestamps
PostgreSQL can store, severities, where an action came from, and where a message lives."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

MessageRef = dict[str, Any]
"""Where an alert's message lives on one channel, JSON-able: Slack {"channel", "ts"}, Mattermost
{"post_id"}, email {"message_id"}, PagerDuty {"dedup_key"}."""


class Frozen(BaseModel):
    """The base of every domain model: immutable, and unknown fields are refused. Validators are
    built on first use (`defer_build`), so importing the models, as `perfbot config check` does
    for their enums, costs no schema building."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""A string PostgreSQL can store: `text` refuses NUL characters."""

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def _not_ancient(value: datetime) -> datetime:
    if value < EARLIEST:
        raise ValueError("must not be before 1970-01-01")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_not_ancient)]
"""When something measured happened: aware, and not before 1970. (asyncpg stores the year 1 as
-infinity and reads it back naive; nothing measured a pgGit operation before 1970.)"""


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank < other.rank
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank <= other.rank
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank > other.rank
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank >= other.rank
        return NotImplemented

    @classmethod
    def parse(cls, text: str) -> "Severity":
        """Case-insensitive; accepts `crit`, `warn` and `info` too."""
        key = text.strip().upper()
        aliases = {"CRIT": "CRITICAL", "WARN": "WARNING"}
        return cls(aliases.get(key, key))


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class ActorSource(StrEnum):
    """Where an action came from, for the audit trail."""

    SLACK = "slack"
    MATTERMOST = "mattermost"
    CONSOLE = "console"
    CLI = "cli"
    API = "api"
    SYSTEM = "system"

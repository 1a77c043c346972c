"""What an operation name may be, and how many of them perfbot takes in.

Operation names reach chat messages, email subjects, charts, logs and URLs, so they are data
with a fixed alphabet: `OPERATION_NAME_PATTERN`, the one definition every ingest path (CSV, the
JSON API, rows read from a source table) and the store's SQL use. Cardinality is bounded by
`OperationLimits`: at most `max_operations` known operations, and at most
`max_new_operations_per_hour` first seen within any hour; `admission` decides how many new names
fit. Pure: no I/O, no clock."""

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

OPERATION_NAME_CHARACTERS = "A-Za-z0-9_.:/-"
OPERATION_NAME_MAX_LENGTH = 128
OPERATION_NAME_PATTERN = f"^[{OPERATION_NAME_CHARACTERS}]{{1,{OPERATION_NAME_MAX_LENGTH}}}$"
"""The character set and length of an operation name, anchored: the same text is a Python `re`
and a PostgreSQL `~` pattern (bound as a parameter, never spliced into SQL)."""
OPERATION_NAME_RE = re.compile(OPERATION_NAME_PATTERN)
ALLOWED_TEXT = f"letters, digits and _ . : / - (1 to {OPERATION_NAME_MAX_LENGTH} characters)"


def operation_name_problem(name: str) -> str | None:
    """Why `name` is not a valid operation name, or None when it is. The reason names the
    first offending character by code point and position, never echoes the name itself."""
    if OPERATION_NAME_RE.fullmatch(name):
        return None
    if not name:
        return f"is empty; allowed: {ALLOWED_TEXT}"
    if len(name) > OPERATION_NAME_MAX_LENGTH:
        return f"is {len(name)} characters long; allowed: {ALLOWED_TEXT}"
    position, char = next((i, c) for i, c in enumerate(name) if not OPERATION_NAME_RE.match(c))
    return f"has character U+{ord(char):04X} at position {position + 1}; allowed: {ALLOWED_TEXT}"


def _valid_name(value: str) -> str:
    problem = operation_name_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


OperationName = Annotated[str, AfterValidator(_valid_name)]
"""A string that matches OPERATION_NAME_PATTERN (pydantic field type)."""


@dataclass(frozen=True)
class OperationLimits:
    """The cardinality caps (YAML `detection.max_operations`,
    `detection.max_new_operations_per_hour`).

    2,000 operations: pgGit itself reports about 35 names; 2,000 leaves room for every service
    that shares the bot and keeps a detection cycle around a second even when all of them are
    busy. 200 new names per hour: a first load of a whole pgGit history (35 names) or a new
    service fits with room to spare, while a flood of made-up names needs ten hours to reach
    the total cap, and each hour's 200 cost the detect cycle little; raise it for a one-off
    import of more names, lower it where names never change."""

    max_operations: int = 2000
    max_new_operations_per_hour: int = 200

    def __post_init__(self) -> None:
        if self.max_operations < 1 or self.max_new_operations_per_hour < 0:
            raise ValueError(
                "max_operations must be at least 1 and max_new_operations_per_hour at least 0"
            )


@dataclass(frozen=True)
class Admission:
    """How many new names fit now, and which cap limits them (`cap` is the YAML key, `limit`
    its value, `used` how much of it is taken)."""

    room: int
    cap: str
    limit: int
    used: int

    def refusal(self, names: list[str]) -> str:
        """Why `names` (new, in input order; the first that did not fit first) are refused."""
        shown = ", ".join(repr(n) for n in names[:3])
        more = f" and {len(names) - 3:,} more" if len(names) > 3 else ""
        what = "known operations" if self.cap == "max_operations" else "first seen in the last hour"
        return (
            f"new operation {shown}{more} refused: detection.{self.cap} is {self.limit:,} "
            f"({self.used:,} {what}); known operations are still accepted"
        )


def admission(limits: OperationLimits, known: int, new_last_hour: int) -> Admission:
    """The room for new names given `known` operations of which `new_last_hour` were first seen
    within the last hour: the tighter of the two caps (the total cap on a tie)."""
    total_room = max(0, limits.max_operations - known)
    hour_room = max(0, limits.max_new_operations_per_hour - new_last_hour)
    if total_room <= hour_room:
        return Admission(total_room, "max_operations", limits.max_operations, known)
    return Admission(
        hour_room, "max_new_operations_per_hour", limits.max_new_operations_per_hour, new_last_hour
    )

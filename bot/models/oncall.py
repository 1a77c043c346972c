"""On-call overrides stored in the database (made from chat or the CLI)."""

from pydantic import AwareDatetime

from bot.models.common import Frozen, Text


class OncallOverride(Frozen):
    """`person` (a people id) is on call over `schedule` from `starts_at` to `ends_at`."""

    id: int
    schedule: Text
    person: Text
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    created_at: AwareDatetime
    created_by: Text
    removed_at: AwareDatetime | None = None
    removed_by: Text | None = None

"""The on-call overrides repository: overrides made at run time (`/perf override`), kept with
who made and who removed them; each change is written with its audit event (`alert_events`,
no alert) in one transaction."""

from collections.abc import Sequence
from datetime import datetime

from bot.models import AlertEvent, OncallOverride
from bot.store.alerts import AlertTx
from bot.store.connector import Connector
from bot.store.queries import QUERIES

TIMEOUT_S = 5


class OncallRepository:
    """On-call overrides over one connector."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector

    async def add(
        self,
        schedule: str,
        person: str,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
        created_by: str,
        event: AlertEvent,
    ) -> OncallOverride:
        """The new override of `schedule` putting `person` on call from `starts_at` to
        `ends_at` (UTC), created at `now` by `created_by`; `event` is its audit record (the
        new override's id is added to its details)."""
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                QUERIES["insert_oncall_override"],
                schedule,
                person,
                starts_at,
                ends_at,
                now,
                created_by,
                timeout=TIMEOUT_S,
            )
            assert row is not None
            created = OncallOverride.model_validate(dict(row))
            details = {**event.details, "override": created.id}
            await AlertTx(conn).add_event(event.model_copy(update={"details": details}))
        return created

    async def live(
        self, now: datetime, schedules: Sequence[str] | None = None
    ) -> list[OncallOverride]:
        """The overrides not removed that end after `now`, of `schedules` (all when None),
        oldest created first (a later one wins)."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(
                QUERIES["live_oncall_overrides"],
                now,
                list(schedules) if schedules is not None else None,
                timeout=TIMEOUT_S,
            )
        return [OncallOverride.model_validate(dict(r)) for r in rows]

    async def remove(
        self, override_id: int, now: datetime, by: str, event: AlertEvent
    ) -> OncallOverride | None:
        """Override `override_id` removed at `now` by `by`, with its audit record `event`;
        None (and nothing recorded) when there is no such override or it was removed already."""
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                QUERIES["remove_oncall_override"], override_id, now, by, timeout=TIMEOUT_S
            )
            if row is None:
                return None
            await AlertTx(conn).add_event(event)
        return OncallOverride.model_validate(dict(row))

"""Hourly rollups for the detection cycle without re-reading a week of them every minute:
complete hours do not change (unless a backfill or a late commit rebuilds them), so they are
read once per hour and the current hour is read each time."""

from datetime import datetime, timedelta

from bot.analysis.rollups import Rollups
from bot.store import Store
from bot.store.rollups import HOUR, floor_to


class HourCache:
    """The hourly rollups of [end - span, end), by hour; `invalidate` after a rebuild."""

    def __init__(self, store: Store, span: timedelta) -> None:
        self._store = store
        self._span = span
        self._complete: Rollups | None = None
        self._until: datetime | None = None

    def invalidate(self, since: datetime | None = None) -> None:
        """Forget cached hours (all, or those from `since` on, which a rebuild touched)."""
        if since is None or (self._until is not None and since < self._until):
            self._complete = None

    async def get(self, end: datetime) -> Rollups:
        """Hourly rollups from `end - span` to the end of `end`'s hour."""
        hour = floor_to(end, HOUR)
        if self._complete is None or self._until != hour:
            self._complete = await self._store.rollups.between("hour", hour - self._span, hour)
            self._until = hour
        current = await self._store.rollups.between("hour", hour, hour + HOUR)
        operations = tuple(sorted(set(self._complete.operations) | set(current.operations)))
        return Rollups.concat([self._complete.recode(operations), current.recode(operations)])

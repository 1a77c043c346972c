"""Time ranges of rollups: bucket arithmetic, the late-row settings, and what a refresh or a
back-fill step did and left (`bot.store.rollups`)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)


def floor_to(when: datetime, step: timedelta) -> datetime:
    """`when` rounded down to a multiple of `step` since the epoch (UTC)."""
    epoch = datetime(1970, 1, 1, tzinfo=when.tzinfo)
    return when - (when - epoch) % step


Range = tuple[datetime, datetime]


@dataclass(frozen=True)
class LateRows:
    """How far back each refresh re-counts the source per minute (`grace`), and how far back
    the hourly count check looks (`check`; zero turns it off)."""

    grace: timedelta = timedelta(minutes=15)
    check: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class RollupRefresh:
    """What one refresh did: the streaming range it rebuilt, the ranges left pending for the
    back-fill (hour-aligned, oldest first), and the ranges rebuilt for rows that were committed
    late (with how many such rows)."""

    streamed_from: datetime
    streamed_to: datetime
    pending: tuple[Range, ...] = ()
    late: tuple[Range, ...] = ()
    late_rows: int = 0


def runs(buckets: list[datetime], step: timedelta) -> list[Range]:
    """Consecutive buckets of `step` merged into [start, end) ranges."""
    ranges: list[Range] = []
    for bucket in sorted(buckets):
        if ranges and ranges[-1][1] == bucket:
            ranges[-1] = (ranges[-1][0], bucket + step)
        else:
            ranges.append((bucket, bucket + step))
    return ranges


@dataclass(frozen=True)
class Backlog:
    """What is left to roll up: pending hour-aligned ranges, oldest first."""

    ranges: tuple[Range, ...] = ()

    @property
    def span(self) -> timedelta:
        """The total time still to roll up."""
        return sum((b - a for a, b in self.ranges), timedelta())

    @property
    def oldest(self) -> datetime | None:
        return self.ranges[0][0] if self.ranges else None


@dataclass(frozen=True)
class BackfillChunk:
    """One committed back-fill step: the range [start, end) it rolled up, and what is left."""

    start: datetime
    end: datetime
    left: Backlog


def merge_ranges(ranges: list[Range]) -> list[Range]:
    """Hour-aligned, sorted, non-overlapping cover of the given closed ranges."""
    aligned = sorted((floor_to(a, HOUR), floor_to(b, HOUR) + HOUR) for a, b in ranges)
    merged: list[Range] = []
    for start, end in aligned:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged

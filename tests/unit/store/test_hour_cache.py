"""The cache of complete hourly rollups: a rebuild forgets only the hours it touched, a read
fetches only what is missing (the rebuilt hours and the hours completed since), and what it
answers equals a fresh read of the whole span."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.analysis.partition import by_bucket
from bot.analysis.rollups import Rollups, as_datetime64
from bot.store import hour_cache
from bot.store.hour_cache import HourCache, Range

HOUR = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
SPAN = timedelta(days=7)
WEEK_AGO = HOUR - SPAN


def history(end: datetime, version: int = 0) -> Rollups:
    """A few samples per hour of three operations over the 8 days before `end`; `version`
    changes the durations (a rebuilt hour differs from the cached one)."""
    hours = np.arange(8 * 24)
    base = as_datetime64(end - timedelta(days=8))
    stamps = np.repeat(base + (hours * 3600 + 30).astype("timedelta64[s]"), 6)
    ops = np.tile(np.array([0, 1, 2, 0, 1, 2]), len(hours))
    values = 1.0 + ops + (np.arange(len(stamps)) % 7) + version
    return Rollups.from_values(("a", "b", "c"), ops, stamps, values, resolution_s=3600)


class Reader:
    """Reads from a stored history and records the ranges read."""

    def __init__(self, rows: Rollups) -> None:
        self.rows = rows
        self.reads: list[Range] = []

    async def __call__(self, start: datetime, end: datetime) -> Rollups:
        self.reads.append((start, end))
        return self.rows.select(as_datetime64(start), as_datetime64(end))


def same(a: Rollups, b: Rollups) -> bool:
    ka = sorted(zip(a.op.tolist(), a.bucket.tolist(), a.n.tolist(), a.sum_ms.tolist(), strict=True))
    kb = sorted(zip(b.op.tolist(), b.bucket.tolist(), b.n.tolist(), b.sum_ms.tolist(), strict=True))
    ha = sorted(zip(a.hist_row.tolist(), a.hist_idx.tolist(), a.hist_cnt.tolist(), strict=True))
    hb = sorted(zip(b.hist_row.tolist(), b.hist_idx.tolist(), b.hist_cnt.tolist(), strict=True))
    ordered = bool(np.all(a.bucket[1:] >= a.bucket[:-1]))
    return a.operations == b.operations and ka == kb and ordered and (len(ha) == len(hb))


@pytest.mark.parametrize(
    ("rebuilt", "now", "reads"),
    [
        # the streaming window: late grace into the last complete hour
        ((HOUR - timedelta(minutes=1), None), HOUR, [(HOUR - H, HOUR)]),
        # a back-dated ingest of a few rows 3 days ago: that hour only, not the week
        (
            (HOUR - timedelta(days=3, minutes=20), HOUR - timedelta(days=3, minutes=10)),
            HOUR,
            [(HOUR - timedelta(days=3, hours=1), HOUR - timedelta(days=3))],
        ),
        # a back-fill chunk reaching before the span: only its part inside the span
        ((HOUR - timedelta(days=30), WEEK_AGO + 2 * H), HOUR, [(WEEK_AGO, WEEK_AGO + 2 * H)]),
        ((HOUR, None), HOUR, []),  # the current hour is read each time anyway
        ((HOUR + timedelta(minutes=5), None), HOUR, []),
        # the next hour completed: one more hour, and the rebuilt one
        (
            (HOUR - timedelta(days=2), HOUR - timedelta(days=2) + H),
            HOUR + H,
            [(HOUR - timedelta(days=2), HOUR - timedelta(days=2) + H), (HOUR, HOUR + H)],
        ),
    ],
)
async def test_a_read_fetches_only_the_rebuilt_and_newly_completed_hours(
    rebuilt: tuple[datetime, datetime | None], now: datetime, reads: list[Range]
) -> None:
    cache = HourCache()
    reader = Reader(history(HOUR + H))
    await cache.hours(HOUR, SPAN, reader)
    assert reader.reads == [(WEEK_AGO, HOUR)]
    reader.rows = history(HOUR + H, version=1)  # every hour differs now: stale ones would show
    cache.invalidate(*rebuilt)
    reader.reads = []
    got = await cache.hours(now, SPAN, reader)
    assert reader.reads == reads
    for a, b in reads:  # the re-read hours carry the new rows
        window = got.select(as_datetime64(a), as_datetime64(b))
        fresh = reader.rows.select(as_datetime64(a), as_datetime64(b))
        assert same(window, fresh.recode(got.operations))
    assert len(got) == len(reader.rows.select(as_datetime64(now - SPAN), as_datetime64(now)))


@pytest.mark.parametrize(
    ("now", "span"),
    [(HOUR - H, SPAN), (HOUR, SPAN + H)],  # the clock went back; another span
)
async def test_anything_else_reads_the_whole_span(now: datetime, span: timedelta) -> None:
    cache = HourCache()
    reader = Reader(history(HOUR + H))
    await cache.hours(HOUR, SPAN, reader)
    reader.reads = []
    await cache.hours(now, span, reader)
    assert reader.reads == [(now - span, now)]


async def test_an_incremental_read_equals_a_fresh_one() -> None:
    cache = HourCache()
    reader = Reader(history(HOUR + 2 * H))
    await cache.hours(HOUR, SPAN, reader)
    reader.rows = history(HOUR + 2 * H, version=2)
    cache.invalidate(HOUR - timedelta(days=1, minutes=30), HOUR - timedelta(days=1))
    got = await cache.hours(HOUR + H, SPAN, reader)
    fresh = await Reader(reader.rows)(HOUR + H - SPAN, HOUR + H)
    kept = history(HOUR + 2 * H).select(as_datetime64(HOUR + H - SPAN), as_datetime64(HOUR))
    expect = Rollups.concat(
        [
            kept.exclude(
                as_datetime64(HOUR - timedelta(days=1, hours=1)),
                as_datetime64(HOUR - timedelta(days=1)),
            ),
            fresh.select(
                as_datetime64(HOUR - timedelta(days=1, hours=1)),
                as_datetime64(HOUR - timedelta(days=1)),
            ),
            fresh.select(as_datetime64(HOUR), as_datetime64(HOUR + H)),
        ]
    )
    assert same(got, by_bucket(expect))
    # histogram entries follow their rows: each row's counts add up to its n
    per_row = np.bincount(got.hist_row, weights=got.hist_cnt, minlength=len(got))
    assert np.array_equal(per_row.astype(np.int64), got.n)


def test_ordering_by_bucket_keeps_each_rows_histogram() -> None:
    rows = history(HOUR)
    shuffled = Rollups.concat(
        [
            rows.select(as_datetime64(HOUR - SPAN), as_datetime64(HOUR)),
            rows.select(as_datetime64(HOUR - 2 * SPAN), as_datetime64(HOUR - SPAN)),
        ]
    )
    ordered = by_bucket(shuffled)
    assert bool(np.all(ordered.bucket[1:] >= ordered.bucket[:-1]))
    per_row = np.bincount(ordered.hist_row, weights=ordered.hist_cnt, minlength=len(ordered))
    assert np.array_equal(per_row.astype(np.int64), ordered.n)
    assert sorted(ordered.sum_ms.tolist()) == sorted(rows.sum_ms.tolist())


class RebuiltWhileReading(Reader):
    """A reader during whose first read another job of the process rebuilds (or forgets)."""

    def __init__(self, rows: Rollups, cache: HourCache, forget: bool) -> None:
        super().__init__(rows)
        self.cache, self.forget = cache, forget

    async def __call__(self, start: datetime, end: datetime) -> Rollups:
        got = await super().__call__(start, end)
        if len(self.reads) == 1:
            if self.forget:
                self.cache.clear()
            else:
                self.cache.invalidate(HOUR - timedelta(days=2), HOUR - timedelta(days=2) + H)
        return got


@pytest.mark.parametrize(
    ("forget", "reads"),
    [
        (False, [(HOUR - timedelta(days=2), HOUR - timedelta(days=2) + H)]),
        (True, [(WEEK_AGO, HOUR)]),
    ],
)
async def test_what_was_rebuilt_during_a_read_is_read_again_next_time(
    forget: bool, reads: list[Range]
) -> None:
    cache = HourCache()
    reader = RebuiltWhileReading(history(HOUR + H), cache, forget)
    await cache.hours(HOUR, SPAN, reader)
    reader.reads = [(HOUR, HOUR)]  # not the first read any more
    await cache.hours(HOUR, SPAN, reader)
    assert reader.reads[1:] == reads


@pytest.mark.parametrize(
    "ranges",
    [
        [(HOUR - H, HOUR)],  # the usual cycle: the newest hour
        [(WEEK_AGO, WEEK_AGO + H), (HOUR - 3 * H, HOUR - 2 * H), (HOUR - H, HOUR)],
        [(HOUR - timedelta(days=3), HOUR - timedelta(days=2))],
    ],
)
def test_laying_sorted_stretches_end_to_end_equals_sorting_them(ranges: list[Range]) -> None:
    old, new = history(HOUR + H), history(HOUR + H, version=1)
    cached = by_bucket(old.select(as_datetime64(WEEK_AGO), as_datetime64(HOUR)))
    parts = [by_bucket(new.select(as_datetime64(a), as_datetime64(b))) for a, b in ranges]
    fast = hour_cache._merge(cached, parts, ranges, WEEK_AGO, HOUR)
    slow = hour_cache._merge_by_sort(cached, parts, ranges, WEEK_AGO, HOUR)
    assert fast.operations == slow.operations
    for column in ("op", "bucket", "n", "sum_ms", "m2_log", "hist_row", "hist_idx", "hist_cnt"):
        assert getattr(fast, column).tolist() == getattr(slow, column).tolist(), column
    assert fast.sum_ms.tolist() != cached.sum_ms.tolist()  # the parts did replace rows

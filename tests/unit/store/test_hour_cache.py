"""The cache of complete hourly rollups: which rebuilds forget it, and which reads it answers."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.analysis.rollups import Rollups
from bot.store.rollups import HourCache

HOUR = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=7)
HOURS = Rollups.empty(("commit",), resolution_s=3600)


def cached() -> HourCache:
    cache = HourCache()
    cache.put(HOUR, SPAN, HOURS)
    return cache


@pytest.mark.parametrize(
    ("rebuilt_from", "forgotten"),
    [
        (HOUR - timedelta(days=30), True),  # a backfill reaching before the span
        (HOUR - timedelta(days=1), True),  # a backfill inside the span
        (HOUR - timedelta(minutes=1), True),  # the streaming window, late grace into the last hour
        (HOUR, False),  # the current hour is read each time anyway
        (HOUR + timedelta(minutes=5), False),
    ],
)
def test_a_rebuild_forgets_the_hours_it_touched(rebuilt_from: datetime, forgotten: bool) -> None:
    cache = cached()
    cache.invalidate(rebuilt_from)
    assert (cache.get(HOUR, SPAN) is None) is forgotten


@pytest.mark.parametrize(
    ("hour", "span", "hit"),
    [
        (HOUR, SPAN, True),
        (HOUR + timedelta(hours=1), SPAN, False),  # the next hour completed one more
        (HOUR - timedelta(hours=1), SPAN, False),
        (HOUR, SPAN + timedelta(hours=1), False),  # another span is another read
    ],
)
def test_a_read_is_answered_only_for_the_same_hour_and_span(
    hour: datetime, span: timedelta, hit: bool
) -> None:
    assert (cached().get(hour, span) is HOURS) is hit


def test_an_empty_cache_answers_nothing_and_ignores_rebuilds() -> None:
    cache = HourCache()
    cache.invalidate(HOUR)
    assert cache.get(HOUR, SPAN) is None

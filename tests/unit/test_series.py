"""The latency series of alert messages: per-minute p50/p95/p99 from rollups."""

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot import errors
from bot.analysis.rollups import Rollups
from bot.clock import FrozenClock
from bot.models import Alert, Baseline
from bot.series import SeriesProvider, series_of, span_for
from tests.factories import make_alert
from tests.unit.analysis.factories import baseline

T0 = np.datetime64("2026-11-27T10:00:00")


def test_series_of_gives_ordered_quantiles_per_minute() -> None:
    rng = np.random.default_rng(3)
    minutes = np.repeat(np.arange(5), 200)
    stamps = T0 + (minutes * 60 + rng.uniform(0, 59, len(minutes))).astype("timedelta64[s]")
    values = rng.lognormal(np.log(10.0), 0.3, len(minutes)) * np.where(minutes == 4, 5.0, 1.0)
    rollups = Rollups.from_values(["commit"], np.zeros(len(values), np.int64), stamps, values, 60)
    series = series_of(rollups, "commit")
    assert series is not None
    assert series.timestamps[0] == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert len(series.p99_ms) == 5
    for p50, p95, p99 in zip(series.p50_ms, series.p95_ms, series.p99_ms, strict=True):
        assert p50 <= p95 <= p99
    assert series.p50_ms[0] == pytest.approx(10.0, rel=0.1)
    assert series.p50_ms[4] == pytest.approx(50.0, rel=0.1)


def test_no_rollups_no_series() -> None:
    assert series_of(Rollups.empty(("commit",)), "commit") is None


# ---- SeriesProvider: once per operation and minute, however many messages ask at once ------

NOON = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)


def _rollups(operation: str) -> Rollups:
    stamps = T0 + np.arange(0, 600, 10).astype("timedelta64[s]")
    values = np.linspace(5.0, 15.0, len(stamps))
    return Rollups.from_values([operation], np.zeros(len(values), np.int64), stamps, values, 60)


class CountingRollups:
    """The provider's rollups source: counts reads; `release` holds them until set."""

    def __init__(self) -> None:
        self.reads: list[str] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        self.fail_next = False

    async def minutes_of(self, operation: str, start: datetime, end: datetime) -> Rollups:
        self.reads.append(operation)
        self.entered.set()
        await self.release.wait()
        if self.fail_next:
            self.fail_next = False
            raise errors.DatabaseUnavailable("database unavailable: test")
        return _rollups(operation)

    async def hours_of(self, operation: str, start: datetime, end: datetime) -> Rollups:
        return await self.minutes_of(operation, start, end)


class CountingFindings:
    def __init__(self) -> None:
        self.reads: list[str] = []

    async def active_baseline(self, operation: str) -> Baseline | None:
        self.reads.append(operation)
        return baseline(operation, p99_ms=40.0) if operation == "commit" else None

    async def active_baselines(self) -> dict[str, Baseline]:
        self.reads.append("*every baseline*")
        return {"commit": baseline("commit", p99_ms=40.0)}


class FakeStore:
    def __init__(self) -> None:
        self.rollups = CountingRollups()
        self.findings = CountingFindings()


def alert_on(operation: str) -> Alert:
    return make_alert(operation_types=(operation,))


async def test_a_batch_of_messages_computes_the_series_once() -> None:
    store = FakeStore()
    provider = SeriesProvider(store, FrozenClock(NOON))
    store.rollups.release.clear()
    asking = [asyncio.create_task(provider(alert_on("commit"))) for _ in range(8)]
    await store.rollups.entered.wait()  # the first is reading; the other seven are queued
    store.rollups.release.set()
    series = await asyncio.gather(*asking)
    assert store.rollups.reads == ["commit"]
    assert store.findings.reads == ["commit"]  # one baseline, not all of them
    assert series[0] is not None
    assert series[0].baseline_p99_ms == 40.0
    assert all(s is series[0] for s in series)


async def test_each_operation_and_minute_is_computed_once() -> None:
    store = FakeStore()
    clock = FrozenClock(NOON)
    provider = SeriesProvider(store, clock)
    for _ in range(3):
        await provider(alert_on("commit"))
        merge = await provider(alert_on("merge"))
    assert merge is not None
    assert merge.baseline_p99_ms is None
    assert store.rollups.reads == ["commit", "merge"]
    clock.advance(timedelta(seconds=29))  # 12:00:59, the same minute
    await provider(alert_on("commit"))
    clock.advance(timedelta(seconds=1))  # 12:01: the series moved on
    await provider(alert_on("commit"))
    await provider(alert_on("commit"))
    assert store.rollups.reads == ["commit", "merge", "commit"]


async def test_a_failed_read_is_not_kept() -> None:
    store = FakeStore()
    provider = SeriesProvider(store, FrozenClock(NOON))
    store.rollups.fail_next = True
    with pytest.raises(errors.DatabaseUnavailable):
        await provider(alert_on("commit"))
    assert await provider(alert_on("commit")) is not None
    assert store.rollups.reads == ["commit", "commit"]


# ---- the span: at least 3x the incident so far, an hour at least, hourly rollups beyond 6 h ----


@pytest.mark.parametrize(
    ("kind", "first_seen_ago", "window_start_ago", "expected"),
    [
        ("statistical", timedelta(0), None, timedelta(hours=1)),
        ("statistical", timedelta(minutes=20), None, timedelta(hours=1)),
        ("statistical", timedelta(minutes=25), None, timedelta(hours=2)),  # 75 min, rounded up
        ("statistical", timedelta(hours=3), None, timedelta(hours=9)),
        ("degradation", timedelta(minutes=5), timedelta(days=3), timedelta(days=9)),
        ("degradation", timedelta(minutes=5), timedelta(days=30), timedelta(days=14)),
        ("statistical", timedelta(minutes=5), timedelta(days=3), timedelta(hours=1)),
    ],
)
def test_span_covers_three_times_the_incident(
    kind: str,
    first_seen_ago: timedelta,
    window_start_ago: timedelta | None,
    expected: timedelta,
) -> None:
    details = (
        {} if window_start_ago is None else {"window_start": (NOON - window_start_ago).isoformat()}
    )
    alert = make_alert(kind=kind, first_seen=NOON - first_seen_ago, details=details)
    assert span_for(alert, NOON) == expected


class SpanRollups(CountingRollups):
    async def hours_of(self, operation: str, start: datetime, end: datetime) -> Rollups:
        self.reads.append(f"hours {operation} {end - start}")
        return _rollups(operation)

    async def minutes_of(self, operation: str, start: datetime, end: datetime) -> Rollups:
        self.reads.append(f"minutes {operation} {end - start}")
        return _rollups(operation)


async def test_long_incidents_read_hourly_rollups_over_their_span() -> None:
    store = FakeStore()
    store.rollups = SpanRollups()
    provider = SeriesProvider(store, FrozenClock(NOON))
    await provider(make_alert(operation_types=("commit",), first_seen=NOON - timedelta(hours=3)))
    await provider(alert_on("commit"))
    assert store.rollups.reads == ["hours commit 9:00:00", "minutes commit 1:00:00"]

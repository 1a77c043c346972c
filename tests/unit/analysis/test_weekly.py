"""The complete hours' aggregates kept from cycle to cycle (`bot.analysis.weekly`) give exactly
what detection finds from the whole week of hourly rollups, and are never used stale."""

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest

from bot.analysis import partition
from bot.analysis.detection import detect
from bot.analysis.params import DegradationParams, DetectionParams
from bot.analysis.partition import bare, by_bucket, narrow
from bot.analysis.rollups import Rollups, as_datetime64
from bot.analysis.weekly import Hours, WeekMemo
from bot.models import Anomaly
from tests.unit.analysis.factories import NOW, baseline, per_minute, rollups

NAMES = [f"op{i}" for i in range(6)]
HOUR = timedelta(hours=1)
START = NOW - timedelta(days=7, hours=3)


def week_of(end: datetime, slower: float = 1.0, seed: int = 5) -> Rollups:
    """Hourly rollups of [START, end): op1 and op3 slow down half-way through, op4 only in
    its last 20 hours; `slower` slows op2 in the hour before NOW (a rebuilt hour)."""
    rng = np.random.default_rng(seed)
    minutes = int((NOW + 2 * HOUR - START) / timedelta(minutes=1))  # then cut at `end`
    parts = {}
    for i, name in enumerate(NAMES):
        stamps, values = per_minute(START, minutes, (4.0 + i) * np.ones(6))
        values = values * rng.lognormal(0, 0.3, len(values))  # every hour differs
        # seconds before NOW (the data of an hour must not depend on `end`)
        at = (as_datetime64(NOW) - stamps).astype("timedelta64[s]").astype(np.int64)
        if i in (1, 3):
            values = values * np.where(at <= 84 * 3600, 1.8, 1.0)
        if i == 4:
            values = values * np.where(at <= 20 * 3600, 2.5, 1.0)
        if i == 2:
            values = values * np.where((at > 0) & (at <= 3600), slower, 1.0)
        before = stamps < as_datetime64(end)
        parts[name] = (stamps[before], values[before])
    return rollups(parts, resolution_s=3600)


def parts_of(hourly: Rollups, now: datetime) -> tuple[Rollups, Rollups]:
    """The complete hours (ordered by bucket, as the store's cache keeps them) and the partial
    hour of `hourly` at `now`. The complete hours' histograms in narrow types, as cached."""
    hour = as_datetime64(now.replace(minute=0, second=0, microsecond=0))
    complete = narrow(by_bucket(hourly.select(as_datetime64(START), hour)))
    return complete, hourly.select(hour, as_datetime64(now + HOUR))


def minutes_of(now: datetime, spike: float) -> tuple[Rollups, Rollups]:
    rng = np.random.default_rng(7)
    new, reference = {}, {}
    for i, name in enumerate(NAMES):
        factor = spike if i in (1, 5) else 1.0
        new[name] = per_minute(now - timedelta(minutes=1), 1, factor * (4.0 + i) * np.ones(8))
        reference[name] = per_minute(
            now - timedelta(minutes=61), 60, (4.0 + i) * rng.lognormal(0, 0.3, 6)
        )
    return rollups(new), rollups(reference)


def both(
    hourly: Rollups,
    now: datetime,
    memo: WeekMemo,
    complete: Rollups | None = None,
    spikes: dict[str, set[datetime]] | None = None,
    chunk: int = 2000,
    spike: float = 6.0,
) -> tuple[list[Anomaly], list[Anomaly]]:
    """What detection finds at `now` without and with the memo."""
    new, reference = minutes_of(now, spike)
    params = replace(DetectionParams(), chunk_operations=chunk)
    degradation = DegradationParams()
    lines = {"op5": baseline(p99_ms=9.0)}
    cut, partial = parts_of(hourly, now)
    complete = cut if complete is None else complete
    plain = detect(new, reference, hourly, lines, params, now, degradation, spikes)
    week = memo.week(complete, degradation, now, spikes or {}, chunk)
    # as the scorer calls it: the whole span without histograms, the parts with them
    hours = Hours(week, complete, partial)
    cached = detect(new, reference, bare(hourly), lines, params, now, degradation, spikes, hours)
    return plain, cached


def dumps(found: list[Anomaly]) -> list[dict[str, object]]:
    return [a.model_dump() for a in found]


@pytest.mark.parametrize("past", [0, 1, 17, 59])
@pytest.mark.parametrize("chunk", [2000, 2])
@pytest.mark.parametrize(
    "spikes",
    [
        None,
        {"op1": {NOW - 5 * HOUR}},  # a complete hour
        {"op4": {NOW}, "op3": {NOW - 30 * HOUR, NOW - 2 * HOUR}},  # the partial hour too
        {"op9": {NOW - 2 * HOUR}},  # an operation without rows
    ],
)
def test_the_memo_finds_what_the_whole_week_finds(
    past: int, chunk: int, spikes: dict[str, set[datetime]] | None
) -> None:
    now = NOW + timedelta(minutes=past)
    plain, cached = both(week_of(now), now, WeekMemo(), spikes=spikes, chunk=chunk)
    degraded = {a.operation_type for a in plain if a.degradation_pct is not None}
    assert {"op1", "op3"} <= degraded  # it can fail
    assert any(a.kind.value == "combined" for a in plain)  # a spike judged without its hours
    assert dumps(cached) == dumps(plain)


@pytest.mark.parametrize("spikes", [None, {"op1": {NOW - 5 * HOUR}}])
def test_complete_hours_in_any_order_give_the_same_week(
    spikes: dict[str, set[datetime]] | None,
) -> None:
    """The week is built from row numbers of the complete hours, ordered by bucket (as
    cached) or not (by operation): the same verdicts either way."""
    now = NOW + timedelta(minutes=17)
    hourly = week_of(now)
    sorted_, _ = parts_of(hourly, now)
    by_operation = partition.reorder(sorted_, np.argsort(sorted_.op, kind="stable"))
    assert sorted_.time_sorted
    assert not by_operation.time_sorted
    plain, cached = both(hourly, now, WeekMemo(), complete=by_operation, spikes=spikes)
    assert dumps(cached) == dumps(plain)


def test_the_cycles_of_an_hour_reuse_the_memo_and_stay_exact() -> None:
    memo = WeekMemo()
    hourly_at = {m: week_of(NOW + timedelta(minutes=m)) for m in (1, 2, 30, 59, 60, 61)}
    kept = parts_of(hourly_at[1], NOW + timedelta(minutes=1))[0]
    for minute in (1, 2, 30, 59, 60, 61):
        now = NOW + timedelta(minutes=minute)
        complete = parts_of(hourly_at[minute], now)[0]
        # The store's cache hands out the same object while no hour completes or is rebuilt.
        same = kept if complete.bucket.max() == kept.bucket.max() else complete
        kept = same
        plain, cached = both(hourly_at[minute], now, memo, complete=same)
        assert dumps(cached) == dumps(plain), minute


def test_spike_hours_that_change_within_an_hour_are_merged_again() -> None:
    memo = WeekMemo()
    now = NOW + timedelta(minutes=5)
    hourly = week_of(now)
    complete = parts_of(hourly, now)[0]
    # op4 does not spike now (a spiking one is judged again from its rows anyway)
    for spikes in (None, {"op4": {NOW - 3 * HOUR}}, {"op4": {NOW - 4 * HOUR}}, None):
        plain, cached = both(hourly, now, memo, complete=complete, spikes=spikes)
        assert dumps(cached) == dumps(plain)
        assert "op4" in {a.operation_type for a in plain if a.kind.value == "degradation"}


def test_a_rebuilt_hour_is_not_served_from_the_memo() -> None:
    """The store rebuilds an hour (a back-fill slowed op2 in it): its cache hands out new
    rows, and the memo must not answer from the old ones."""
    memo = WeekMemo()
    now = NOW + timedelta(minutes=5)
    before = week_of(now)
    both(before, now, memo)
    after = week_of(now, slower=40.0)
    plain, cached = both(after, now, memo)
    old, _ = both(before, now, WeekMemo())
    assert dumps(plain) != dumps(old)  # the rebuilt hour changes the verdict: it can fail
    assert dumps(cached) == dumps(plain)


@pytest.mark.parametrize("hours", [0, 1, 30])
def test_a_short_history_finds_what_the_whole_week_finds(hours: int) -> None:
    """No complete hour yet, one, or some: the memo knows fewer operations than the cycle."""
    now = NOW + timedelta(minutes=20)
    hourly = week_of(now).select(as_datetime64(NOW - hours * HOUR), as_datetime64(now + HOUR))
    plain, cached = both(hourly, now, WeekMemo())
    assert plain  # the spikes: it can fail
    assert dumps(cached) == dumps(plain)


@pytest.mark.parametrize("slab", [1, 7, 1000])
def test_histograms_gathered_in_slabs_give_the_same_verdicts(
    slab: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = NOW + timedelta(minutes=9)
    hourly = week_of(now)
    plain, _ = both(hourly, now, WeekMemo())
    monkeypatch.setattr(partition, "SLAB", slab)
    _, cached = both(hourly, now, WeekMemo(), spikes={"op3": {NOW - 3 * HOUR}}, chunk=4)
    monkeypatch.setattr(partition, "SLAB", 4_000_000)
    again, _ = both(hourly, now, WeekMemo(), spikes={"op3": {NOW - 3 * HOUR}}, chunk=4)
    assert plain  # it can fail
    assert dumps(cached) == dumps(again)

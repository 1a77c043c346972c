"""The latency series shown with an alert: its operation's p50/p95/p99 (from the rollups'
histograms) against its baseline, over a span of at least three times the incident so far (at
least the last hour, at most 14 days): minute by minute up to 6 hours, hour by hour beyond.
Slack and Mattermost draw it as a chart, every channel as a sparkline."""

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np

from bot.analysis.rollups import Rollups, as_datetime
from bot.analysis.summary import Summary
from bot.clock import Clock
from bot.models import Alert, Baseline
from bot.notify import LatencySeries

WINDOW = timedelta(hours=1)  # the shortest span shown
MAX_WINDOW = timedelta(days=14)
MINUTES_UP_TO = timedelta(hours=6)  # longer spans are drawn from hourly rollups
SPAN_FACTOR = 3


def span_for(alert: Alert, now: datetime) -> timedelta:
    """How far back the alert's series reaches: 3x the time since the incident began (the
    degradation's window start, else the alert's first sighting), at least an hour, at most
    14 days, rounded up to a whole hour beyond the first so that one minute's messages share it."""
    began = alert.first_seen
    start = alert.details.get("window_start")
    if alert.kind == "degradation" and isinstance(start, str):
        with contextlib.suppress(ValueError, TypeError):  # not a date, or one without a zone
            began = min(began, datetime.fromisoformat(start))
    span = SPAN_FACTOR * max(now - began, timedelta(0))
    if span <= WINDOW:
        return WINDOW
    hours = -(-span // timedelta(hours=1))
    return min(timedelta(hours=hours), MAX_WINDOW)


def series_of(rollups: Rollups, operation: str) -> LatencySeries | None:
    """Per-bucket p50/p95/p99 of one operation's rollups (ordered by bucket); None when empty."""
    if not len(rollups):
        return None
    rows = np.arange(len(rollups), dtype=np.int64)
    q = Summary.of(rollups, rows, len(rollups)).quantiles([0.5, 0.95, 0.99])
    return LatencySeries(
        operation_type=operation,
        timestamps=tuple(as_datetime(b) for b in rollups.bucket),
        p50_ms=tuple(float(v) for v in q[:, 0]),
        p95_ms=tuple(float(v) for v in q[:, 1]),
        p99_ms=tuple(float(v) for v in q[:, 2]),
    )


class _Rollups(Protocol):
    async def minutes_of(self, operation: str, start: datetime, end: datetime) -> Rollups: ...
    async def hours_of(self, operation: str, start: datetime, end: datetime) -> Rollups: ...


class _Findings(Protocol):
    async def active_baseline(self, operation: str) -> Baseline | None: ...


class SeriesStore(Protocol):
    """What the provider reads (`Store` answers it)."""

    @property
    def rollups(self) -> _Rollups: ...

    @property
    def findings(self) -> _Findings: ...


@dataclass
class _Minute:
    """The series computed in one minute, by operation, and who is computing which."""

    at: datetime
    series: dict[tuple[str, timedelta], LatencySeries | None] = field(default_factory=dict)
    computing: dict[tuple[str, timedelta], asyncio.Lock] = field(default_factory=dict)


class SeriesProvider:
    """`await provider(alert)`: the series of the alert's (first) operation over `span_for`
    the alert, with its baseline; None when there is no data. The messages of a delivery batch
    are sent concurrently; the first of them to ask computes an operation's series once per
    span for its minute and the others wait for it. Only the current minute's series are
    kept."""

    def __init__(self, store: SeriesStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._minute = _Minute(datetime.min.replace(tzinfo=UTC))

    async def __call__(self, alert: Alert) -> LatencySeries | None:
        if not alert.operation_types:
            return None
        operation = alert.operation_types[0]
        now: datetime = self._clock.now()
        at = now.replace(second=0, microsecond=0)
        if at != self._minute.at:
            self._minute = _Minute(at)
        minute = self._minute  # the one this call fills, even if the next begins meanwhile
        key = (operation, span_for(alert, now))
        if key not in minute.series:
            async with minute.computing.setdefault(key, asyncio.Lock()):
                if key not in minute.series:
                    minute.series[key] = await self._compute(operation, now, key[1])
        return minute.series[key]

    async def _compute(
        self, operation: str, now: datetime, span: timedelta
    ) -> LatencySeries | None:
        rollups = self._store.rollups
        read = rollups.minutes_of if span <= MINUTES_UP_TO else rollups.hours_of
        series = series_of(await read(operation, now - span, now), operation)
        if series is None:
            return None
        baseline = await self._store.findings.active_baseline(operation)
        if baseline is None:
            return series
        return LatencySeries(
            operation_type=series.operation_type,
            timestamps=series.timestamps,
            p50_ms=series.p50_ms,
            p95_ms=series.p95_ms,
            p99_ms=series.p99_ms,
            baseline_p50_ms=baseline.p50_ms,
            baseline_p99_ms=baseline.p99_ms,
            threshold_ms=baseline.threshold_ms,
        )

"""The latency series shown with an alert: the last hour of its operation, minute by minute
(p50/p95/p99 from the rollups' histograms) against its baseline. Slack and Mattermost draw it
as a chart, every channel as a sparkline."""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np

from bot.analysis.rollups import Rollups, as_datetime
from bot.analysis.summary import Summary
from bot.clock import Clock
from bot.models import Alert, Baseline
from bot.notify import LatencySeries

WINDOW = timedelta(hours=1)


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
    series: dict[str, LatencySeries | None] = field(default_factory=dict)
    computing: dict[str, asyncio.Lock] = field(default_factory=dict)


class SeriesProvider:
    """`await provider(alert)`: the last hour of the alert's (first) operation, with its
    baseline; None when there is no data. The messages of a delivery batch are sent
    concurrently; the first of them to ask computes an operation's series once for its minute
    and the others wait for it. Only the current minute's series are kept."""

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
        if operation not in minute.series:
            async with minute.computing.setdefault(operation, asyncio.Lock()):
                if operation not in minute.series:
                    minute.series[operation] = await self._compute(operation, now)
        return minute.series[operation]

    async def _compute(self, operation: str, now: datetime) -> LatencySeries | None:
        series = series_of(
            await self._store.rollups.minutes_of(operation, now - WINDOW, now), operation
        )
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

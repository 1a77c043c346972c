"""The latency series shown with an alert: the last hour of its operation, minute by minute
(p50/p95/p99 from the rollups' histograms) against its baseline. Slack and Mattermost draw it
as a chart, every channel as a sparkline."""

from datetime import datetime, timedelta

import numpy as np

from bot.analysis.rollups import Rollups, as_datetime
from bot.analysis.summary import Summary
from bot.clock import Clock
from bot.models import Alert
from bot.notify import LatencySeries
from bot.store import Store

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


class SeriesProvider:
    """`await provider(alert)`: the last hour of the alert's (first) operation, with its
    baseline; None when there is no data."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        # One alert's messages to several channels go out together: compute once per minute.
        self._cache: dict[tuple[str, datetime], LatencySeries | None] = {}

    async def __call__(self, alert: Alert) -> LatencySeries | None:
        if not alert.operation_types:
            return None
        operation = alert.operation_types[0]
        now: datetime = self._clock.now()
        key = (operation, now.replace(second=0, microsecond=0))
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = await self._compute(operation, now)
        return self._cache[key]

    async def _compute(self, operation: str, now: datetime) -> LatencySeries | None:
        series = series_of(
            await self._store.rollups.minutes_of(operation, now - WINDOW, now), operation
        )
        if series is None:
            return None
        baseline = (await self._store.findings.active_baselines()).get(operation)
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

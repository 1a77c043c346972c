"""Scoring one detection window: the robust (or z-score) detector over new minute rollups
against their reference, traffic drops and a silent source from request counts, and the
throttle of standing degradations. Used by a whole cycle (`bot.jobs`) and by a replica's shard
(`bot.sharding`); the CPU work runs off the event loop."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.analysis import degradation, detection, partition, traffic, weekly
from bot.analysis.params import DegradationParams, DetectionParams, TrafficParams
from bot.analysis.rollups import Rollups, as_datetime64
from bot.config import Settings
from bot.config.params import params
from bot.models import Anomaly, AnomalyKind, Baseline
from bot.store import Store
from bot.store.rollups import HOUR, floor_to

# A standing degradation is re-recorded this often (at most a third of alerts.resolve_after, so
# that its alert stays open while it lasts).
DEGRADATION_REPEAT = timedelta(minutes=15)
# After downtime, a cycle (or a shard's) scores at most this much at once; the minute cache
# below spans it.
MAX_CATCH_UP = timedelta(minutes=10)


class Scorer:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        # The degradation check's aggregates of the complete hours, merged again only when the
        # store's hour cache hands out new rows (an hour completed or was rebuilt).
        self._weeks = weekly.WeekMemo()
        # The span of hourly rollups detection reads each cycle (the store caches its complete
        # hours, so a week is read once an hour rather than every cycle).
        # Traffic needs the same hour a week before the last hour: 7 days and 2 hours.
        self._hours_span = (
            max(settings.degradation.lookback, settings.detection.lookback, timedelta(days=7))
            + 2 * HOUR
        )
        # The span of minute rollups a cycle reads (the store caches them, so each cycle reads
        # only the minutes its refresh rebuilt): the robust detector's reference from the hour
        # before its longest window before a window of at most MAX_CATCH_UP, and the traffic check's
        # longest window.
        detect = params(DetectionParams, settings.detection)
        traffic_ = params(TrafficParams, settings.detection)
        self._minutes_span = max(
            MAX_CATCH_UP + timedelta(minutes=max(detect.all_windows_min) + 1) + HOUR,
            timedelta(minutes=max(traffic_.windows_min)),
            traffic_.silence_after,
        )

    async def find(
        self,
        start: datetime,
        end: datetime,
        active: dict[str, Baseline],
        only: Callable[[str], bool] | None = None,
        source: bool = True,
    ) -> tuple[list[Anomaly], int, int]:
        """What a cycle (or, with `only`, a shard: the operations it accepts) finds in the
        minutes [start, end): spikes and degradations, traffic drops and, with `source`, a
        silent source, standing degradations throttled; and how many operations and samples
        had rows. The week of hourly rollups both detectors need is read once."""
        complete, current = await self._store.rollups.hour_parts(end, self._hours_span)
        # A copy of the whole span: off the event loop.
        hourly = await asyncio.to_thread(_joined, complete, current, False)
        found, operations, samples = await self._score(
            start, end, active, hourly, only, (complete, current)
        )
        found += await self._traffic(end, hourly, only, source)
        return await self._throttle_degradations(found, end), operations, samples

    async def _score(
        self,
        start: datetime,
        end: datetime,
        active: dict[str, Baseline],
        hourly: Rollups,
        only: Callable[[str], bool] | None,
        parts: tuple[Rollups, Rollups],
    ) -> tuple[list[Anomaly], int, int]:
        """The anomalies of the minutes [start, end), the operations and samples scored; with
        `only`, of the operations it accepts."""
        s = self._settings
        minutes = self._store.rollups.recent_minutes
        new = await minutes(start, end, end, self._minutes_span)
        if not len(new):
            return [], 0, 0
        scored = len(set(new.op.tolist())), int(new.n.sum())
        detect = params(DetectionParams, s.detection)
        # minute rollups for the robust detector's longest (pooled) window, plus one minute
        recent = timedelta(minutes=max(detect.all_windows_min) + 1)
        minutes_from = floor_to(start - recent, HOUR)
        lookback_from = floor_to(start - s.detection.lookback, HOUR)
        complete, current = parts
        ref_from, ref_to = as_datetime64(lookback_from), as_datetime64(minutes_from)
        ref_hours = await asyncio.to_thread(
            _joined,
            complete.select(ref_from, ref_to),
            current.select(ref_from, ref_to),
            True,
            hourly,
        )
        ref_minutes = await minutes(minutes_from, start, end, self._minutes_span)
        operations = tuple(
            sorted(set(new.operations) | set(ref_hours.operations) | set(ref_minutes.operations))
        )
        if only is not None:
            operations = tuple(o for o in operations if only(o))
            hourly = hourly.recode(operations)
        reference = Rollups.concat([ref_hours.recode(operations), ref_minutes.recode(operations)])
        spikes = await self._store.findings.spike_hours(end - s.degradation.lookback)
        degradation_params = params(DegradationParams, s.degradation)

        def run() -> list[Anomaly]:
            week = self._weeks.week(
                complete, degradation_params, end, spikes, detect.chunk_operations
            )
            return detection.detect(
                new.recode(operations),
                reference,
                hourly,
                active,
                detect,
                end,
                degradation_params,
                spikes,
                weekly.Hours(week, complete, current),
            )

        # CPU work off the event loop: chat, /healthz and ingest keep answering meanwhile.
        found = await asyncio.to_thread(run)
        return found, *scored

    async def _traffic(
        self,
        end: datetime,
        hourly: Rollups,
        only: Callable[[str], bool] | None,
        source: bool,
    ) -> list[Anomaly]:
        """Traffic drops per operation (with `only`, of the operations it accepts) and, with
        `source`, a silent source at `end`, from request counts (`bot.analysis.traffic`):
        judged every cycle, also when no new row arrived."""
        settings = params(TrafficParams, self._settings.detection)
        longest = max(timedelta(minutes=max(settings.windows_min)), settings.silence_after)
        minutes = await self._store.rollups.recent_minutes(
            end - longest, end, end, self._minutes_span, histograms=False
        )
        verdict = traffic.assess_traffic(minutes, hourly, end, settings)
        found = traffic.anomalies(verdict, end)
        return [
            a
            for a in found
            if (a.kind is AnomalyKind.SOURCE_SILENT and source)
            or (
                a.kind is not AnomalyKind.SOURCE_SILENT and (only is None or only(a.operation_type))
            )
        ]

    async def _throttle_degradations(self, found: list[Anomaly], now: datetime) -> list[Anomaly]:
        """`found` without the standing degradations recorded less than DEGRADATION_REPEAT
        (at most a third of alerts.resolve_after) ago at the same severity, judged from the
        database so that replicas and restarts agree."""
        if not any(a.kind is AnomalyKind.DEGRADATION for a in found):
            return found
        repeat = min(DEGRADATION_REPEAT, self._settings.alerts.resolve_after / 3)
        recorded = await self._store.findings.latest_degradations(now - repeat)
        return degradation.throttle(found, recorded, now, repeat)


def _joined(
    complete: Rollups, current: Rollups, histograms: bool, like: Rollups | None = None
) -> Rollups:
    """The complete hours and the current one (with or without their histograms), coded by
    the operations of both (or of `like`)."""
    if like is not None:
        operations = like.operations
    else:
        operations = tuple(sorted(set(complete.operations) | set(current.operations)))
    parts = [complete.recode(operations), current.recode(operations)]
    return Rollups.concat(parts if histograms else [partition.bare(p) for p in parts])

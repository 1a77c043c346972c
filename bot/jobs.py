"""Scheduled job bodies: detect, correlate, baselines, backfill, escalate and cleanup. Each
takes the slot's `now` and returns how many rows it produced; `Jobs.specs()` is the schedule
table.

Detection reads rollups, never raw history: each cycle refreshes the rollups from the rows that
arrived since the watermark, then scores the complete minutes since the last cycle against the
lookback (hourly rollups, plus minutes for the last stretch the robust detector looks at).
History (the source's on the first start, back-dated rows a `perfbot ingest` loaded) is rolled
up by the `backfill` job, newest first, one committed chunk at a time, so detection of live
minutes starts at once and a long history is never redone from the start."""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot import sharding
from bot.alerts import AlertService
from bot.analysis import baseline as baselines_
from bot.analysis import correlation
from bot.analysis.params import (
    BaselineParams,
    CorrelationParams,
)
from bot.cleanup import Cleanup
from bot.config import Settings
from bot.config.checks import OWN_METRICS
from bot.config.params import params
from bot.errors import ConfigError
from bot.models import Anomaly, Baseline, BaselineChange, Correlation
from bot.scheduler import JobSpec
from bot.scoring import MAX_CATCH_UP, Scorer
from bot.store import Store
from bot.store.rollups import HOUR, MINUTE, BackfillChunk, floor_to

logger = logging.getLogger(__name__)

DETECT_WATERMARK = "detect"
DETECT_LOCK_KEY = 0x7065_7266_6465_7463  # "perfdetc": one detection cycle at a time
CORRELATE_LOCK_KEY = 0x7065_7266_636F_7272  # "perfcorr"
BASELINE_LOCK_KEY = 0x7065_7266_6261_7365  # "perfbase"
# The cleanup stops starting batches once retention.budget is spent; its last batch may still
# run (a batch is bounded by its statement timeout).
CLEANUP_GRACE = timedelta(minutes=5)
# A scheduled back-fill run starts no new chunk after this long (the next slot goes on), so the
# job ends well inside its timeout and its runs stay visible in /perf jobs.
BACKFILL_BUDGET = timedelta(minutes=2)


@dataclass(frozen=True)
class DetectReport:
    """What a detection cycle scored: the minutes [start, end), how many operations and
    samples had rows in them, and the anomalies it stored."""

    start: datetime
    end: datetime
    operations: int
    samples: int
    anomalies: list[Anomaly]


class Jobs:
    def __init__(
        self, store: Store, settings: Settings, alerts: AlertService, *, owner: str = "cli"
    ) -> None:
        self._store = store
        self._owner = owner
        self._settings = settings
        self._alerts = alerts
        self._cleanup = Cleanup(store, settings)
        self._scorer = Scorer(store, settings)

    @property
    def store(self) -> Store:
        return self._store

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def owner(self) -> str:
        return self._owner

    @property
    def scorer(self) -> Scorer:
        return self._scorer

    @property
    def alerts(self) -> AlertService:
        return self._alerts

    # ---- detect ---------------------------------------------------------------------------------

    async def refresh(self, now: datetime) -> None:
        s = self._settings
        await self._store.rollups.refresh(
            now,
            initial_backfill=max(s.baselines.lookback, s.degradation.lookback) + HOUR,
            oldest=self.rebuild_horizon(now),
        )

    def rebuild_horizon(self, now: datetime) -> datetime:
        """The oldest moment whose rollups may be rebuilt from raw rows (a back-fill): the
        hourly retention, but for perfbot's own metrics table, whose raw rows retention prunes,
        the first whole hour whose raw rows are all still there (a rebuild replaces whole
        hours)."""
        keep = self._settings.retention
        if self._settings.source.table != OWN_METRICS:
            return now - keep.rollup_hour
        return floor_to(now - keep.metrics, HOUR) + HOUR

    # ---- backfill -------------------------------------------------------------------------------

    async def backfill(
        self,
        now: datetime,
        *,
        budget: timedelta | None = BACKFILL_BUDGET,
        on_chunk: Callable[[BackfillChunk], None] | None = None,
    ) -> int:
        """Roll up pending history one committed chunk at a time, newest first, until none is
        left or `budget` (monotonic time; None: no limit) has passed; returns the chunks done.
        Ranges older than the hourly rollups' retention are dropped."""
        oldest = self.rebuild_horizon(now)
        deadline = None if budget is None else time.monotonic() + budget.total_seconds()
        done = 0
        while deadline is None or time.monotonic() < deadline:
            chunk = await self._store.rollups.backfill_step(oldest)
            if chunk is None:
                break
            done += 1
            logger.info(
                "back-fill chunk rolled up",
                extra={
                    "action": "backfill_chunk",
                    "chunk": f"{chunk.start:%Y-%m-%dT%H:%M}/{chunk.end:%Y-%m-%dT%H:%M}",
                    "pending_hours": round(chunk.left.span / HOUR, 1),
                    "pending_from": chunk.left.oldest.isoformat() if chunk.left.oldest else None,
                },
            )
            if on_chunk is not None:
                on_chunk(chunk)
            if not chunk.left.ranges:
                logger.info("back-fill complete", extra={"action": "backfill_done"})
        return done

    async def detect(self, now: datetime) -> int:
        """Score the complete minutes since the last cycle; store anomalies and alert."""
        anomalies = await self.detect_once(now)
        return len(anomalies)

    async def detect_once(self, now: datetime, *, alert: bool = True) -> list[Anomaly]:
        """One cycle: the minutes since the last one, scored once even if the CLI and the bot
        (or two replicas) run a cycle at the same moment; then, with `alert`, alerting of every
        pending anomaly (without, they wait for the next alerting run)."""
        if self._settings.detection.shards > 1:
            return await sharding.detect_shards(self, now, alert=alert)
        return (await self.detect_report(now, alert=alert)).anomalies

    async def detect_report(
        self, now: datetime, *, alert: bool = True, since: timedelta | None = None
    ) -> DetectReport:
        """`detect_once`, saying what it scored, its anomalies as stored after alerting (with
        their alert ids). `since`: score the minutes up to this long ago, also those a cycle
        scored before (by default those since the last cycle, at most MAX_CATCH_UP; on a fresh
        database the last `detection.interval`)."""
        if self._settings.detection.shards > 1:
            raise ConfigError(
                [
                    "detection.shards: above 1 the replicas' shards own the minutes they score;"
                    " `detect --once` scores the whole source: run it with detection.shards: 1"
                ]
            )
        async with self._store.connector.exclusive(DETECT_LOCK_KEY):
            report = await self._cycle(now, since)
            if alert:
                # also what an earlier cycle committed but could not alert
                await self._alerts.process_pending(now)
        if alert and report.anomalies:
            ids = [a.id for a in report.anomalies if a.id is not None]
            report = replace(report, anomalies=await self._store.findings.anomalies_by_id(ids))
        return report

    async def _cycle(self, now: datetime, since: timedelta | None = None) -> DetectReport:
        """Score the minutes since the watermark; commit their anomalies, pending alerting,
        together with the new watermark (nothing when another cycle moved it first)."""
        s = self._settings
        await self.refresh(now)
        end = floor_to(now - s.detection.settle, MINUTE)
        mark = await self._store.jobs.watermark(DETECT_WATERMARK)
        if since is None:
            start = max(mark or end - s.detection.interval, end - MAX_CATCH_UP)
        else:
            start = end - since  # already scored minutes too: their anomalies update alerts
        start = min(floor_to(start, MINUTE), end)
        nothing = DetectReport(start, start, 0, 0, [])
        if start >= end:
            return nothing
        active = await self._store.findings.active_baselines()
        if not active:
            await self.baselines(now, reason="first")
            active = await self._store.findings.active_baselines()
        found, operations, samples = await self._scorer.find(start, end, active)
        stored = await self._store.findings.commit_cycle(found, DETECT_WATERMARK, mark, end)
        window = f"{start:%H:%M}-{end:%H:%M}"
        if stored is None:
            logger.warning(
                "detection cycle superseded",
                extra={"action": "detect_superseded", "window": window},
            )
            return nothing
        logger.info(
            "detection cycle",
            extra={
                "action": "detect_cycle",
                "window": window,
                "operations": operations,
                "samples": samples,
                "anomalies": len(stored),
            },
        )
        return DetectReport(start, end, operations, samples, stored)

    # ---- correlate ------------------------------------------------------------------------------

    async def correlate(self, now: datetime) -> int:
        return len(await self.correlate_once(now))

    async def correlate_once(self, now: datetime, *, alert: bool = True) -> list[Correlation]:
        """Correlate the operations degraded now (a WARNING or worse anomaly within two
        correlation intervals) over the lookback; one bottleneck alert per connected cluster."""
        async with self._store.connector.exclusive(CORRELATE_LOCK_KEY):
            return await self._correlate(now, alert)

    async def _correlate(self, now: datetime, alert: bool) -> list[Correlation]:
        s = self._settings
        await self.refresh(now)
        degraded = await self._store.findings.degraded_operations(now - 2 * s.correlation.interval)
        if len(degraded) < 2:
            return []
        minutes = await self._store.rollups.between(
            "minute", now - s.correlation.lookback, now, histograms=False
        )
        found = await asyncio.to_thread(
            correlation.correlate_all,
            minutes,
            degraded,
            params(CorrelationParams, s.correlation),
            now,
        )
        if found.capped:
            logger.warning(
                "correlated pairs capped: only the strongest are reported",
                extra={
                    "action": "correlation_pairs_capped",
                    "matched": found.matched,
                    "reported": len(found.pairs),
                    "max_pairs": s.correlation.max_pairs,
                },
            )
        stored = await self._store.findings.add_correlations(found.pairs)
        if alert:
            await self._alerts.process_pending(now)
        return stored

    # ---- baselines ------------------------------------------------------------------------------

    async def baselines(
        self, now: datetime, *, force: bool = False, reason: str = "scheduled"
    ) -> int:
        changes = await self.recalculate(now, force=force, manual=reason == "manual")
        return sum(1 for _, change, _ in changes if change.replaced)

    async def recalculate(
        self, now: datetime, *, force: bool = False, manual: bool = False
    ) -> list[tuple[Baseline, BaselineChange, Baseline | None]]:
        """Recompute every operation's baseline from the lookback's hourly rollups; replace the
        active one when p99 moved enough (or `force`); keep the history."""
        async with self._store.connector.exclusive(BASELINE_LOCK_KEY):
            return await self._recalculate(now, force, manual)

    async def _recalculate(
        self, now: datetime, force: bool, manual: bool
    ) -> list[tuple[Baseline, BaselineChange, Baseline | None]]:
        s = self._settings
        await self.refresh(now)
        # a day at a time: a week of 10,000 operations at once took gigabytes
        folded = baselines_.Accumulated(now - s.baselines.lookback, now)
        async for day in self._store.rollups.hours_by_day(now - s.baselines.lookback, now):
            await asyncio.to_thread(folded.add, day)
        fresh = await asyncio.to_thread(folded.baselines, params(BaselineParams, s.baselines), now)
        active = await self._store.findings.active_baselines()
        decisions = baselines_.decide_all(
            active, fresh, force=force, manual=manual, min_change_pct=s.baselines.min_change_pct
        )
        changes = [(fresh[d.operation_type], d, active.get(d.operation_type)) for d in decisions]
        replaced = await self._store.findings.save_baselines(changes, now)
        logger.info(
            "baselines recalculated",
            extra={
                "action": "baselines_recalculated",
                "operations": len(changes),
                "replaced": replaced,
            },
        )
        return changes

    async def scheduled_baselines(self, now: datetime) -> int:
        return await self.baselines(now)

    # ---- escalate, cleanup ------------------------------------------------------------------------

    async def escalate(self, now: datetime) -> int:
        """Due escalation steps, repeats, silence expiries and auto-resolves."""
        return await self._alerts.tick(now)

    async def cleanup(self, now: datetime) -> int:
        """Delete what is past its retention, table by table in bounded batches
        (`bot.cleanup`); returns the rows deleted."""
        return sum(p.rows for p in await self._cleanup.run(now))

    def specs(self) -> list[JobSpec]:
        """The schedule: what runs when."""
        s = self._settings
        return [
            JobSpec(
                "detect",
                self.detect,
                every=s.detection.interval,
                timeout=max(s.detection.interval * 5, timedelta(minutes=2)),
                shared=s.detection.shards > 1,
            ),
            JobSpec(
                "backfill",
                self.backfill,
                every=s.detection.interval,
                timeout=BACKFILL_BUDGET + timedelta(minutes=10),
            ),
            JobSpec("correlate", self.correlate, every=s.correlation.interval),
            JobSpec(
                "baselines",
                self.scheduled_baselines,
                cron=s.baselines.cron,
                timeout=timedelta(minutes=30),
            ),
            JobSpec("escalate", self.escalate, every=s.schedules.escalate),
            JobSpec(
                "cleanup",
                self.cleanup,
                cron=s.schedules.cleanup_cron,
                timeout=s.retention.budget + CLEANUP_GRACE,
            ),
        ]

"""Scheduled job bodies: detect, correlate, baselines, escalate and cleanup. Each takes the
slot's `now` and returns how many rows it produced; `Jobs.specs()` is the schedule table."""

import logging
from datetime import datetime

from bot.alerts import AlertService
from bot.scheduler import JobSpec
from bot.settings import Settings
from bot.store import Store

logger = logging.getLogger(__name__)


class Jobs:
    def __init__(self, store: Store, settings: Settings, alerts: AlertService) -> None:
        self._store = store
        self._settings = settings
        self._alerts = alerts

    async def escalate(self, now: datetime) -> int:
        """Due escalation steps, repeats, silence expiries and auto-resolves."""
        return await self._alerts.tick(now)

    async def cleanup(self, now: datetime) -> int:
        """Delete what is past its retention: anomalies, correlations, rollups, job runs, and
        delivered or dead deliveries."""
        keep = self._settings.retention
        removed = await self._store.prune_findings(now - keep.anomalies, now - keep.correlations)
        removed += await self._store.prune_rollups(now - keep.rollup_minute, now - keep.rollup_hour)
        removed += await self._store.prune_job_runs(now - keep.job_runs)
        removed += await self._store.prune_deliveries(now - keep.deliveries)
        return removed

    def specs(self) -> list[JobSpec]:
        """The schedule: what runs when."""
        s = self._settings
        return [
            JobSpec("escalate", self.escalate, every=s.schedules.escalate),
            JobSpec("cleanup", self.cleanup, cron=s.schedules.cleanup_cron),
        ]

"""The jobs repository. The job audit: one `job_runs` row per (job, slot); claiming inserts it,
so among replicas exactly one runs each slot, and finishing records status, duration, rows and
error. And the watermarks that say how far a job got (the detection cycle's last scored
minute)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.models import JobRun, JobStatus
from bot.store.connector import Connector
from bot.store.queries import QUERIES


@dataclass(frozen=True)
class JobStats:
    job: str
    runs: int
    failures: int
    last_success: datetime | None
    avg_ms: float | None
    max_ms: float | None


class JobRunRepository:
    """Job runs and watermarks over one connector."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector

    async def claim(self, job: str, slot: datetime, owner: str, now: datetime) -> int | None:
        """The new run's id, or None when this slot is already taken."""
        async with self._db.connection() as conn:
            run_id: int | None = await conn.fetchval(
                QUERIES["claim_job_slot"], job, slot, owner, now
            )
            return run_id

    async def finish(
        self,
        run_id: int,
        status: JobStatus,
        finished_at: datetime,
        duration_ms: float,
        rows: int | None,
        error: str | None,
    ) -> None:
        async with self._db.connection() as conn:
            await conn.execute(
                QUERIES["finish_job_run"],
                run_id,
                status.value,
                finished_at,
                duration_ms,
                rows,
                error,
            )

    async def latest(self) -> list[JobRun]:
        """The newest run of every job that ever ran."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["latest_job_runs"])
        return [JobRun.model_validate(dict(r)) for r in rows]

    async def last_runs(self, jobs: Iterable[str], n: int) -> dict[str, list[JobRun]]:
        """The newest `n` runs of each of `jobs`, newest first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["last_job_runs"], list(jobs), n)
        runs: dict[str, list[JobRun]] = {}
        for r in rows:
            runs.setdefault(r["job"], []).append(JobRun.model_validate(dict(r)))
        return runs

    async def last_success(self, job: str) -> datetime | None:
        """When `job` last finished a successful run (UTC), or None when it never did."""
        async with self._db.connection() as conn:
            value: datetime | None = await conn.fetchval(QUERIES["last_job_success"], job)
            return value

    async def stats(self, since: datetime) -> dict[str, JobStats]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["job_run_stats"], since)
        return {r["job"]: JobStats(**dict(r)) for r in rows}

    async def watermark(self, name: str) -> datetime | None:
        """The watermark `name` (UTC), or None when it was never set."""
        async with self._db.connection() as conn:
            value: datetime | None = await conn.fetchval(QUERIES["get_watermark"], name)
            return value

    async def set_watermark(self, name: str, value: datetime) -> None:
        async with self._db.connection() as conn:
            await conn.execute(QUERIES["set_watermark"], name, value)

"""The job audit: one `job_runs` row per (job, slot). Claiming inserts it, so among replicas
exactly one runs each slot; finishing records status, duration, rows and error."""

from dataclasses import dataclass
from datetime import datetime

from bot.models import JobRun, JobStatus
from bot.store.base import StoreBase
from bot.store.queries import QUERIES


@dataclass(frozen=True)
class JobStats:
    job: str
    runs: int
    failures: int
    last_success: datetime | None
    avg_ms: float | None
    max_ms: float | None


class JobRunsMixin(StoreBase):
    async def claim_job_slot(
        self, job: str, slot: datetime, owner: str, now: datetime
    ) -> int | None:
        """The new run's id, or None when this slot is already taken."""
        async with self.connection() as conn:
            run_id: int | None = await conn.fetchval(
                QUERIES["claim_job_slot"], job, slot, owner, now
            )
            return run_id

    async def finish_job_run(
        self,
        run_id: int,
        status: JobStatus,
        finished_at: datetime,
        duration_ms: float,
        rows: int | None,
        error: str | None,
    ) -> None:
        async with self.connection() as conn:
            await conn.execute(
                QUERIES["finish_job_run"],
                run_id,
                status.value,
                finished_at,
                duration_ms,
                rows,
                error,
            )

    async def latest_job_runs(self) -> list[JobRun]:
        """The newest run of every job that ever ran."""
        async with self.connection() as conn:
            rows = await conn.fetch(QUERIES["latest_job_runs"])
        return [JobRun.model_validate(dict(r)) for r in rows]

    async def recent_job_runs(self, job: str, limit: int = 20) -> list[JobRun]:
        async with self.connection() as conn:
            rows = await conn.fetch(QUERIES["recent_job_runs"], job, limit)
        return [JobRun.model_validate(dict(r)) for r in rows]

    async def job_stats(self, since: datetime) -> dict[str, JobStats]:
        async with self.connection() as conn:
            rows = await conn.fetch(QUERIES["job_run_stats"], since)
        return {r["job"]: JobStats(**dict(r)) for r in rows}

    async def prune_job_runs(self, before: datetime) -> int:
        async with self.connection() as conn:
            status = await conn.execute(QUERIES["delete_job_runs_before"], before)
        return int(status.split()[-1])

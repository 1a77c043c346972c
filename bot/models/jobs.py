"""The record of one scheduled job run: which job, for which slot, by which replica, how it ended."""

from enum import StrEnum

from pydantic import AwareDatetime

from bot.models.common import Frozen


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class JobRun(Frozen):
    id: int
    job: str
    slot: AwareDatetime
    status: JobStatus
    owner: str
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    duration_ms: float | None = None
    rows: int | None = None
    error: str | None = None

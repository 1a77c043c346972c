"""The `schedules:` and `retention:` sections: when the escalate and cleanup jobs run, and how
long cleanup keeps each kind of row (and how it deletes them: in bounded batches)."""

from datetime import timedelta

from pydantic import Field, field_validator

from bot.config.section import Section
from bot.durations import Duration


class ScheduleSettings(Section):
    escalate: Duration = timedelta(seconds=15)
    cleanup_cron: str = "17 * * * *"  # hourly: each run prunes about an hour's worth


class RetentionSettings(Section):
    """How long each kind of row is kept; the cleanup job deletes older ones, `batch_size` rows
    per statement (halved while a batch takes longer than `batch_seconds`), for at most
    `budget` a run. Raw metrics and merges are pruned only from perfbot's own tables, never
    from an in-place source such as pgGit's."""

    metrics: Duration = timedelta(days=8)  # raw rows, once rolled up; rollups are the record
    merges: Duration = timedelta(days=90)
    rollup_minute: Duration = timedelta(days=30)
    rollup_hour: Duration = timedelta(days=400)
    anomalies: Duration = timedelta(days=30)
    correlations: Duration = timedelta(days=30)
    alerts: Duration = timedelta(days=90)  # resolved ones, with their events and messages
    deliveries: Duration = timedelta(days=30)  # sent and dead ones; pending are never deleted
    baselines: Duration = timedelta(days=400)  # replaced baselines and the baseline history
    silences: Duration = timedelta(days=90)  # after they ended or expired
    job_runs: Duration = timedelta(days=30)
    batch_size: int = Field(default=10_000, ge=100, le=1_000_000)
    batch_seconds: Duration = timedelta(seconds=2)
    budget: Duration = timedelta(minutes=20)

    @field_validator("*", mode="after")
    @classmethod
    def _positive(cls, value: object) -> object:
        if isinstance(value, timedelta) and value <= timedelta(0):
            raise ValueError("must be longer than 0s")
        return value

"""The `schedules:` and `retention:` sections: when the escalate and cleanup jobs run, and how
long cleanup keeps each kind of row."""

from datetime import timedelta

from bot.config.section import Section
from bot.durations import Duration


class ScheduleSettings(Section):
    escalate: Duration = timedelta(seconds=15)
    cleanup_cron: str = "0 3 * * *"


class RetentionSettings(Section):
    anomalies: Duration = timedelta(days=30)
    correlations: Duration = timedelta(days=7)
    rollup_minute: Duration = timedelta(days=2)
    rollup_hour: Duration = timedelta(days=90)
    job_runs: Duration = timedelta(days=30)
    deliveries: Duration = timedelta(days=30)

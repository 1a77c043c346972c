"""Whether perfbot's scheduled jobs are healthy, from their recent runs: a job whose last
`FAILED_RUNS` runs all failed, or that has not started for `OVERDUE_INTERVALS` of its usual gap,
makes `/healthz` answer 503 and `/perf status` say why. One failure, or one late run, is not yet
a problem (a database blip, a slow night). A job whose last *successful* run is that overdue
(the detect job: failing now and then, never three times in a row) is a problem too, when the
caller passes its last success. Pure: runs and `now` in, problems out."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.models import JobRun, JobStatus

FAILED_RUNS = 3
OVERDUE_INTERVALS = 3


def job_problems(
    schedule: Mapping[str, timedelta],
    recent: Mapping[str, Sequence[JobRun]],
    now: datetime,
    *,
    started: datetime | None = None,
    last_success: Mapping[str, datetime | None] | None = None,
) -> list[str]:
    """One line per unhealthy scheduled job. `recent` holds each job's newest runs, newest
    first; `started` is when this process began scheduling (a job that never ran is overdue
    only that long after it); `last_success` when each job named in it last finished a
    successful run (None: never)."""
    last_success = last_success or {}
    problems = []
    for job, gap in sorted(schedule.items()):
        runs = list(recent.get(job, ()))[:FAILED_RUNS]
        if len(runs) == FAILED_RUNS and all(r.status is JobStatus.FAILED for r in runs):
            reason = runs[0].error or "no error recorded"
            problems.append(f"job {job} failed its last {FAILED_RUNS} runs: {reason}")
            continue
        last = runs[0].started_at if runs else started
        if last is not None and now - last > OVERDUE_INTERVALS * gap:
            since = f"since {last:%Y-%m-%d %H:%M} UTC" if runs else "since start"
            problems.append(f"job {job} has not run {since} (every {_span(gap)})")
            continue
        if job in last_success:
            success = last_success[job]
            if success is None and started is not None and now - started > OVERDUE_INTERVALS * gap:
                problems.append(f"job {job} has not succeeded since start (every {_span(gap)})")
            elif success is not None and now - success > OVERDUE_INTERVALS * gap:
                problems.append(
                    f"job {job} has not succeeded since {success:%Y-%m-%d %H:%M} UTC "
                    f"(every {_span(gap)})"
                )
    return problems


def _span(gap: timedelta) -> str:
    seconds = int(gap.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

"""Job health: three failures in a row, or three gaps without a run, are a problem."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.jobhealth import job_problems
from bot.models import JobRun, JobStatus

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
OK, FAILED = JobStatus.SUCCESS, JobStatus.FAILED


def runs(*statuses: JobStatus, every: timedelta = MINUTE, last: timedelta = MINUTE) -> list[JobRun]:
    """Runs newest first, the newest `last` ago, one `every` apart."""
    return [
        JobRun(
            id=i,
            job="detect",
            slot=NOW - last - i * every,
            status=status,
            owner="a",
            started_at=NOW - last - i * every,
            error="database unavailable" if status is FAILED else None,
        )
        for i, status in enumerate(statuses)
    ]


@pytest.mark.parametrize(
    ("recent", "started", "problem"),
    [
        (runs(OK, OK, OK), None, None),
        (runs(FAILED), None, None),  # one failure is a blip
        (runs(FAILED, FAILED), None, None),
        (runs(FAILED, FAILED, OK), None, None),
        (runs(OK, FAILED, FAILED), None, None),  # it recovered
        (
            runs(FAILED, FAILED, FAILED),
            None,
            "job detect failed its last 3 runs: database unavailable",
        ),
        (runs(OK, last=3 * MINUTE), None, None),  # exactly three gaps: not yet
        (
            runs(OK, last=3 * MINUTE + timedelta(seconds=1)),
            None,
            "job detect has not run since 2026-12-03 11:56 UTC (every 1m)",
        ),
        ([], None, None),  # never ran, start unknown
        ([], NOW - 2 * MINUTE, None),
        ([], NOW - 4 * MINUTE, "job detect has not run since start (every 1m)"),
    ],
)
def test_job_problems(recent: list[JobRun], started: datetime | None, problem: str | None) -> None:
    found = job_problems({"detect": MINUTE}, {"detect": recent}, NOW, started=started)
    assert found == ([problem] if problem else [])


def test_only_scheduled_jobs_count() -> None:
    recent = {"retired": runs(FAILED, FAILED, FAILED)}
    assert job_problems({"detect": MINUTE}, recent, NOW) == []


@pytest.mark.parametrize(
    ("recent", "success", "started", "problem"),
    [
        (runs(OK), NOW - MINUTE, None, None),
        (runs(FAILED, OK), NOW - 2 * MINUTE, None, None),
        (runs(FAILED, FAILED), NOW - 3 * MINUTE, None, None),  # exactly three gaps: not yet
        (
            runs(FAILED, FAILED, OK, FAILED, FAILED),
            NOW - 3 * MINUTE - timedelta(seconds=1),
            None,
            "job detect has not succeeded since 2026-12-03 11:56 UTC (every 1m)",
        ),
        (  # three failures in a row say so, once
            runs(FAILED, FAILED, FAILED),
            NOW - 10 * MINUTE,
            None,
            "job detect failed its last 3 runs: database unavailable",
        ),
        (runs(FAILED, FAILED), None, None, None),  # never succeeded, start unknown
        (runs(FAILED, FAILED), None, NOW - 2 * MINUTE, None),
        (
            runs(FAILED, FAILED),
            None,
            NOW - 4 * MINUTE,
            "job detect has not succeeded since start (every 1m)",
        ),
    ],
)
def test_last_success_overdue(
    recent: list[JobRun], success: datetime | None, started: datetime | None, problem: str | None
) -> None:
    found = job_problems(
        {"detect": MINUTE},
        {"detect": recent},
        NOW,
        started=started,
        last_success={"detect": success},
    )
    assert found == ([problem] if problem else [])

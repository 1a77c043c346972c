"""Job slots: one run per (job, slot) across runners; failures are recorded, never raised."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FrozenClock
from bot.models import JobStatus
from bot.scheduler import EPOCH, JobRunner, JobSpec, Scheduler, first_fire, slot_for
from bot.store import Store
from tests.polling import eventually

NOW = datetime(2026, 11, 27, 12, 0, 37, tzinfo=UTC)


@pytest.mark.parametrize(
    ("every", "cron", "expected"),
    [
        (timedelta(seconds=60), None, datetime(2026, 11, 27, 12, 0, tzinfo=UTC)),
        (timedelta(minutes=5), None, datetime(2026, 11, 27, 12, 0, tzinfo=UTC)),
        (timedelta(seconds=15), None, datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)),
        (None, "0 2 * * *", datetime(2026, 11, 27, 12, 0, tzinfo=UTC)),
    ],
)
def test_slot_for(every: timedelta | None, cron: str | None, expected: datetime) -> None:
    async def body(now: datetime) -> int:
        return 0

    assert slot_for(JobSpec("j", body, every=every, cron=cron), NOW) == expected


@pytest.mark.parametrize(
    ("every", "offset"),
    [
        (timedelta(seconds=2), timedelta(seconds=0.2)),
        (timedelta(seconds=15), timedelta(seconds=1)),
        (timedelta(minutes=5), timedelta(seconds=1)),
    ],
)
def test_interval_jobs_fire_just_after_their_slot_starts(
    every: timedelta, offset: timedelta
) -> None:
    """Every replica fires on the same grid: the claim, not start-up order, picks the runner."""
    assert first_fire(every) == EPOCH + offset
    fire = first_fire(every) + 1_000_000 * every
    assert fire - slot_for(JobSpec("j", _nothing, every=every), fire) == offset


async def _nothing(now: datetime) -> int:
    return 0


def test_spec_needs_exactly_one_schedule() -> None:
    async def body(now: datetime) -> int:
        return 0

    with pytest.raises(ValueError, match="exactly one"):
        JobSpec("j", body)


async def test_two_runners_run_each_slot_once(store: Store) -> None:
    calls: list[str] = []

    async def body(now: datetime) -> int:
        calls.append("run")
        await asyncio.sleep(0.05)
        return 7

    spec = JobSpec("detect", body, every=timedelta(seconds=60))
    clock = FrozenClock(NOW)
    a, b = JobRunner(store, clock, "a"), JobRunner(store, clock, "b")
    outcomes = await asyncio.gather(a.run(spec), b.run(spec), a.run(spec))
    assert calls == ["run"]
    assert sorted(o.claimed for o in outcomes) == [False, False, True]
    [run] = await store.jobs.latest()
    assert run.status is JobStatus.SUCCESS
    assert run.rows == 7
    assert run.duration_ms is not None
    assert run.duration_ms >= 40
    clock.advance(timedelta(seconds=60))
    assert (await b.run(spec)).claimed


async def test_a_shared_job_runs_in_every_runner_and_is_recorded_once(store: Store) -> None:
    # detection with detection.shards > 1: every replica runs the slot (the body divides the
    # work by shard claims), the one that claimed the slot records it
    calls: list[datetime] = []

    async def body(now: datetime) -> int:
        calls.append(now)
        return 3

    spec = JobSpec("detect", body, every=timedelta(seconds=60), shared=True)
    clock = FrozenClock(NOW)
    a, b = JobRunner(store, clock, "a"), JobRunner(store, clock, "b")
    outcomes = await asyncio.gather(a.run(spec), b.run(spec))
    assert len(calls) == 2
    assert sorted(o.claimed for o in outcomes) == [False, True]
    assert all(o.status is JobStatus.SUCCESS for o in outcomes)
    [run] = await store.jobs.latest()
    assert run.rows == 3


async def test_failures_and_timeouts_are_recorded(store: Store) -> None:
    async def broken(now: datetime) -> int:
        raise RuntimeError("boom")

    async def slow(now: datetime) -> int:
        await asyncio.Event().wait()  # never done: only the job's timeout ends it
        return 1

    runner = JobRunner(store, FrozenClock(NOW), "a")
    failed = await runner.run(JobSpec("broken", broken, every=timedelta(seconds=60)))
    assert failed.status is JobStatus.FAILED
    assert failed.error == "RuntimeError: boom"
    timed_out = await runner.run(
        JobSpec("slow", slow, every=timedelta(seconds=60), timeout=timedelta(seconds=0.1))
    )
    assert timed_out.status is JobStatus.FAILED
    assert timed_out.error is not None
    assert "timed out" in timed_out.error
    latest = {r.job: r for r in await store.jobs.latest()}
    assert latest["broken"].error == "RuntimeError: boom"
    assert latest["slow"].status is JobStatus.FAILED


async def test_scheduler_fires_interval_jobs_and_stops_cleanly(store: Store) -> None:
    fired = asyncio.Event()

    async def body(now: datetime) -> int:
        fired.set()
        return 1

    from bot.clock import SystemClock

    scheduler = Scheduler(
        JobRunner(store, SystemClock(), "a"),
        [JobSpec("tick", body, every=timedelta(seconds=60))],
        speed=600.0,  # every 0.1 s of wall time
    )
    scheduler.start()
    try:
        await asyncio.wait_for(fired.wait(), timeout=5)
        assert scheduler.running()
    finally:
        await scheduler.stop()
    assert not scheduler.running()


async def test_stop_lets_a_submitted_run_finish(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A run APScheduler has submitted but whose task has not started when `stop()` is called
    finishes and is recorded; it is not cancelled by APScheduler's shutdown, which would log
    "Error running job" with a CancelledError traceback (the restart test's flake under load)."""
    ran = asyncio.Event()

    async def body(now: datetime) -> int:
        ran.set()
        return 1

    scheduler = Scheduler(
        JobRunner(store, FrozenClock(NOW), "a"), [JobSpec("tick", body, every=timedelta(hours=1))]
    )
    scheduler.start()
    try:
        # Due now: APScheduler's wake-up (queued on the loop) submits the run, creating its task;
        # one pass of the loop runs the wake-up and then this test, before that task starts.
        scheduler._scheduler.modify_job("tick", next_run_time=datetime.now(UTC))
        await asyncio.sleep(0)
    finally:
        await scheduler.stop()
    assert ran.is_set()
    [run] = [r for r in await store.jobs.latest() if r.job == "tick"]
    assert run.status is JobStatus.SUCCESS
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


async def test_a_run_cut_short_at_stop_is_a_warning_not_a_traceback(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A run still going when `stop()`'s grace is over is cancelled and said so in one warning
    line (`job_cancelled`), not as APScheduler's "Job raised an exception" traceback."""
    started = asyncio.Event()

    async def body(now: datetime) -> int:
        started.set()
        await asyncio.Event().wait()  # never finishes by itself
        return 1

    scheduler = Scheduler(
        JobRunner(store, FrozenClock(NOW), "a"), [JobSpec("hang", body, every=timedelta(hours=1))]
    )
    scheduler.start()
    try:
        scheduler._scheduler.modify_job("hang", next_run_time=datetime.now(UTC))
        await asyncio.wait_for(started.wait(), timeout=10)
    finally:
        await scheduler.stop(grace=0)

    async def unwound() -> bool:  # the cancelled run has said what happened to it
        return any(
            r.levelname == "ERROR" or getattr(r, "action", None) == "job_cancelled"
            for r in caplog.records
        )

    await eventually(unwound, within=10)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    assert any(getattr(r, "action", None) == "job_cancelled" for r in caplog.records)


@pytest.mark.parametrize(("rows", "level"), [(0, "DEBUG"), (None, "DEBUG"), (3, "INFO")])
async def test_an_idle_run_is_a_debug_line(
    store: Store, caplog: pytest.LogCaptureFixture, rows: int | None, level: str
) -> None:
    """The escalation runs every 15 s and mostly finds nothing: its idle runs must not fill
    the log at INFO (they are still recorded in job_runs)."""

    async def body(now: datetime) -> int | None:
        return rows

    caplog.set_level("DEBUG", logger="bot.scheduler")
    outcome = await JobRunner(store, FrozenClock(NOW), "a").run(
        JobSpec("escalate", body, every=timedelta(seconds=15))
    )
    assert outcome.status is JobStatus.SUCCESS
    [done] = [r for r in caplog.records if r.getMessage() == "job done"]
    assert done.levelname == level
    assert [r.job for r in await store.jobs.latest()] == ["escalate"]

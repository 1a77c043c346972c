"""Scheduled jobs: APScheduler fires them, `JobRunner` claims the (job, slot) row so that among
N replicas exactly one runs each slot, runs the body under a timeout, and records start, end,
status, rows, error and duration. A failing job is logged and recorded; it never stops the
process. A tick that fails before or after the job's body (claiming or recording the slot:
the database down or slow, or anything unexpected) is logged too, and the next tick tries
again: the job's interval is its back-off. Each job keeps a `FailureStreak` of failed ticks
and failed runs; a job failing `streak.FAILING_AFTER` times in a row fails the scheduler's
`/healthz` check. `stop()` lets in-flight runs finish (bounded) before returning. A job may
have an `after_success` hook (the detect job's heartbeat), awaited once its successful run is
recorded; the hook bounds its own wait and never raises."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import errors
from bot.clock import Clock
from bot.metrics import Metrics
from bot.models import JobStatus
from bot.store import Store
from bot.streak import FailureStreak

logger = logging.getLogger(__name__)

JobBody = Callable[[datetime], Awaitable[int | None]]
AfterSuccess = Callable[[], Awaitable[object]]
"""Called after a job's successful run (the heartbeat); bounds its own wait, never raises."""
"""A job's work: gets the slot's `now`, returns how many rows it produced (or None)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class JobSpec:
    name: str
    body: JobBody
    every: timedelta | None = None  # interval jobs
    cron: str | None = None  # cron jobs (UTC), e.g. "0 2 * * *"
    timeout: timedelta = timedelta(minutes=5)
    # Every replica runs the body of each slot (it divides the work itself, `bot.sharding`);
    # the replica that claims the slot records the run.
    shared: bool = False

    def __post_init__(self) -> None:
        if (self.every is None) == (self.cron is None):
            raise ValueError(f"job {self.name}: give exactly one of every= or cron=")

    def expected_gap(self) -> timedelta:
        """How long between runs when all is well (a day for cron jobs)."""
        return self.every if self.every is not None else timedelta(days=1)


def slot_for(spec: JobSpec, now: datetime) -> datetime:
    """The slot a run at `now` belongs to: the interval boundary at or before `now` for interval
    jobs (epoch-aligned, so every replica computes the same one), the minute for cron jobs."""
    step = spec.every if spec.every is not None else timedelta(minutes=1)
    return now - (now - EPOCH) % step


def first_fire(every: timedelta) -> datetime:
    """Where an interval job's fire times start: just after a slot boundary (a tenth of the
    interval, at most a second, so that a timer that fires a little late or early still lands
    in its slot). Every replica fires on this one grid, so the slot claim decides which runs a
    slot and the work spreads over the replicas, instead of going to whichever started first."""
    return EPOCH + min(every / 10, timedelta(seconds=1))


@dataclass(frozen=True)
class RunOutcome:
    job: str
    slot: datetime
    claimed: bool
    status: JobStatus | None = None
    rows: int | None = None
    error: str | None = None
    duration_ms: float = 0.0


class JobRunner:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        owner: str,
        metrics: Metrics | None = None,
        *,
        after_success: Mapping[str, AfterSuccess] | None = None,
    ) -> None:
        self._store = store
        self._after_success = dict(after_success or {})
        self._clock = clock
        self._owner = owner
        self._metrics = metrics

    async def run(self, spec: JobSpec, *, slot: datetime | None = None) -> RunOutcome:
        """Claim the slot and run the job once; unclaimed slots return `claimed=False`."""
        now = self._clock.now()
        slot = slot or slot_for(spec, now)
        run_id = await self._store.jobs.claim(spec.name, slot, self._owner, now)
        if run_id is None and not spec.shared:
            logger.debug(
                "slot taken",
                extra={"action": "job_skipped", "job": spec.name, "slot": slot.isoformat()},
            )
            return RunOutcome(spec.name, slot, claimed=False)
        started = time.perf_counter()
        status, rows, error = JobStatus.SUCCESS, None, None
        try:
            async with asyncio.timeout(spec.timeout.total_seconds()):
                rows = await spec.body(now)
        except TimeoutError:
            status, error = (
                JobStatus.FAILED,
                f"timed out after {spec.timeout.total_seconds():.0f} s",
            )
            logger.error(
                "job timed out", extra={"action": "job_failed", "job": spec.name, "error": error}
            )
        except errors.QueryTimeout as exc:
            status, error = JobStatus.FAILED, exc.message
            logger.error(
                "job failed: a query was too slow",
                extra={"action": "job_failed", "job": spec.name, "error": error, "slow": True},
            )
        except errors.BotError as exc:
            status, error = JobStatus.FAILED, exc.message
            logger.error(
                "job failed", extra={"action": "job_failed", "job": spec.name, "error": error}
            )
        except Exception as exc:
            status, error = JobStatus.FAILED, f"{type(exc).__name__}: {exc}"
            logger.exception("job crashed", extra={"action": "job_failed", "job": spec.name})
        duration_ms = (time.perf_counter() - started) * 1000
        if self._metrics is not None:
            self._metrics.job_runs.labels(spec.name, status.value).inc()
            self._metrics.job_seconds.labels(spec.name).observe(duration_ms / 1000)
        try:
            if run_id is not None:
                await self._store.jobs.finish(
                    run_id, status, self._clock.now(), duration_ms, rows, error
                )
        except errors.StoreError as exc:
            logger.warning(
                "could not record job run",
                extra={"action": "job_unrecorded", "job": spec.name, "error": exc.message},
            )
        if status is JobStatus.SUCCESS:
            # An idle run (nothing produced: the escalation finding nothing due, every 15 s) is a
            # debug line; /perf jobs and the job_runs table keep every run.
            logger.log(
                logging.INFO if rows else logging.DEBUG,
                "job done",
                extra={
                    "action": "job_done",
                    "job": spec.name,
                    "rows": rows,
                    "ms": round(duration_ms, 1),
                },
            )
            hook = self._after_success.get(spec.name)
            if hook is not None:
                await hook()
        return RunOutcome(spec.name, slot, run_id is not None, status, rows, error, duration_ms)


class Scheduler:
    """Fires jobs on their schedule. `speed` > 1 shortens intervals (the demo's fast clock)."""

    def __init__(self, runner: JobRunner, specs: list[JobSpec], *, speed: float = 1.0) -> None:
        self._runner = runner
        self._specs = specs
        self._speed = speed
        self._scheduler: Any = None
        self._inflight: set[asyncio.Task[Any]] = set()
        # Runs APScheduler has submitted and not yet reported done: a submitted run may not have
        # reached `_fire` yet (its task not started), and APScheduler's shutdown cancels such a
        # run and logs the cancellation with a traceback, so `stop()` waits for this to reach 0.
        self._submitted = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self.last_fire: dict[str, float] = {}
        self.streaks = {
            spec.name: FailureStreak(f"job {spec.name}", "job_tick_failed", log=logger)
            for spec in specs
        }

    def start(self) -> None:
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        for spec in self._specs:
            if spec.every is not None:
                seconds = max(spec.every.total_seconds() / self._speed, 0.05)
                # On an accelerated clock slots are not wall-clock aligned; just fire often.
                start = first_fire(spec.every) if self._speed == 1.0 else None
                trigger: Any = IntervalTrigger(seconds=seconds, start_date=start, timezone=UTC)
            elif self._speed == 1.0:
                assert spec.cron is not None
                trigger = CronTrigger.from_crontab(spec.cron, timezone=UTC)
            else:
                continue  # cron times mean nothing on an accelerated clock
            scheduler.add_job(
                self._fire,
                trigger,
                args=[spec],
                id=spec.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(spec.expected_gap().total_seconds() / self._speed)),
            )
        scheduler.add_listener(self._submitted_run, EVENT_JOB_SUBMITTED)
        scheduler.add_listener(
            self._finished_run, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
        )
        scheduler.start()
        self._scheduler = scheduler

    def _submitted_run(self, event: Any) -> None:
        self._submitted += 1
        self._idle.clear()

    def _finished_run(self, event: Any) -> None:
        # One event per run time; coalesce=True gives each submitted run exactly one.
        self._submitted = max(0, self._submitted - 1)
        if self._submitted == 0:
            self._idle.set()

    async def _fire(self, spec: JobSpec) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        self.last_fire[spec.name] = time.monotonic()
        streak = self.streaks[spec.name]
        try:
            outcome = await self._runner.run(spec)
        except Exception as exc:  # noqa: BLE001 -- the streak logs it (traceback once)
            # Database down or slow, or a bug: logged (a traceback once per streak), counted;
            # the next tick tries again. Nothing escapes into APScheduler.
            streak.failed(exc)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # `stop()` cut it short after its grace: said here, not as APScheduler's traceback.
            logger.warning(
                "job cut short at shutdown", extra={"action": "job_cancelled", "job": spec.name}
            )
        else:
            if outcome.status is JobStatus.FAILED:
                # the runner logged and recorded it
                streak.failed(errors.BotError(outcome.error or "failed"), logged=True)
            elif outcome.claimed:
                streak.succeeded()
        finally:
            self._inflight.discard(task)

    def health(self) -> dict[str, Any]:
        """For `/healthz`: running, and no job failing `FAILING_AFTER` times in a row."""
        failing = {name: s.health() for name, s in self.streaks.items() if s.failures}
        ok = self.running() and not any(s.failing for s in self.streaks.values())
        return {"ok": ok, "running": self.running(), "failing_jobs": failing}

    def running(self) -> bool:
        return self._scheduler is not None and bool(self._scheduler.running)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop firing, then wait up to `grace` seconds for the runs already submitted to finish,
        including those whose task has not started yet. (APScheduler's own shutdown cancels
        unfinished coroutine jobs and logs each with a traceback, so it comes last.)"""
        scheduler, self._scheduler = self._scheduler, None
        self._stopping = True
        if scheduler is not None:
            scheduler.pause()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout=grace)
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=0)
            for task in pending:
                task.cancel()
        if scheduler is not None:
            scheduler.shutdown(wait=False)

"""The dead-man's switch: the detect job's runner calls `heartbeat.url` once per successful
cycle and never for a failed one; a monitor that is down, slow or redirecting leaves the cycle
successful, is logged (throttled, the URL masked) and never raises."""

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FrozenClock
from bot.config.heartbeat import HeartbeatSettings
from bot.models import JobStatus
from bot.notify.heartbeat import Heartbeat
from bot.scheduler import JobRunner, JobSpec
from bot.store import Store
from tests.fakes.server import free_port
from tests.fakes.webhook import WebhookReceiver

NOW = datetime(2026, 11, 27, 12, 0, 7, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
TOKEN = "5f3c1b2a-secret-ping-token"


def heartbeat(url: str, method: str = "GET", timeout: float = 2.0) -> Heartbeat:
    return Heartbeat(
        HeartbeatSettings.model_validate(
            {"url": url, "method": method, "timeout": timedelta(seconds=timeout)}
        )
    )


def detect(fail_at: set[int]):
    calls = 0

    async def body(now: datetime) -> int:
        nonlocal calls
        calls += 1
        if calls in fail_at:
            raise RuntimeError("boom")
        return 0

    return JobSpec("detect", body, every=MINUTE)


async def test_one_call_per_successful_cycle_none_for_a_failed_one(
    store: Store, webhook_receiver: WebhookReceiver
) -> None:
    beat = heartbeat(f"{webhook_receiver.url}/ping/{TOKEN}", method="POST")
    clock = FrozenClock(NOW)
    runner = JobRunner(store, clock, "a", after_success={"detect": beat.beat})
    spec = detect(fail_at={2})
    other = JobSpec("correlate", detect(fail_at=set()).body, every=MINUTE)
    statuses = []
    try:
        for cycle in range(3):
            slot = NOW + cycle * MINUTE
            statuses.append((await runner.run(spec, slot=slot)).status)
            await runner.run(other, slot=slot)  # another job: no heartbeat
    finally:
        await beat.aclose()
    assert statuses == [JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.SUCCESS]
    assert [(c.verb, c.path) for c in webhook_receiver.calls] == [
        ("POST", f"/ping/{TOKEN}"),
        ("POST", f"/ping/{TOKEN}"),
    ]


async def test_an_unreachable_monitor_leaves_the_cycle_successful(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    beat = heartbeat(f"http://127.0.0.1:{free_port()}/ping/{TOKEN}")
    runner = JobRunner(store, FrozenClock(NOW), "a", after_success={"detect": beat.beat})
    spec = detect(fail_at=set())
    with caplog.at_level(logging.INFO, logger="bot.notify.heartbeat"):
        try:
            first = await runner.run(spec, slot=NOW)
            second = await runner.run(spec, slot=NOW + MINUTE)
        finally:
            await beat.aclose()
    assert (first.status, second.status) == (JobStatus.SUCCESS, JobStatus.SUCCESS)
    runs = {r.slot: r.status for r in (await store.jobs.last_runs(["detect"], 5))["detect"]}
    assert set(runs.values()) == {JobStatus.SUCCESS}
    failed = [r for r in caplog.records if getattr(r, "action", None) == "heartbeat_failed"]
    assert len(failed) == 1  # the second failure within 5 minutes is counted, not logged
    assert re.fullmatch(r"http://127\.0\.0\.1:[0-9]+/\*\*\*", failed[0].__dict__["url"])
    assert TOKEN not in caplog.text
    assert beat.failures == 2


async def test_redirects_are_not_followed_and_errors_recover(
    webhook_receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    beat = heartbeat(f"{webhook_receiver.url}/ping/{TOKEN}")
    webhook_receiver.fail(302, headers={"Location": f"{webhook_receiver.url}/elsewhere"})
    with caplog.at_level(logging.INFO, logger="bot.notify.heartbeat"):
        try:
            assert await beat.beat() is False
            assert await beat.beat() is True
        finally:
            await beat.aclose()
    assert [(c.verb, c.path) for c in webhook_receiver.calls] == [("GET", f"/ping/{TOKEN}")]
    actions = [getattr(r, "action", None) for r in caplog.records]
    assert actions == ["heartbeat_failed", "heartbeat_recovered"]
    assert "HTTP 302" in caplog.records[0].__dict__["error"]
    assert TOKEN not in caplog.text


async def test_a_hanging_monitor_is_cut_off_by_the_timeout(
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.hang(seconds=30)
    beat = heartbeat(f"{webhook_receiver.url}/ping/{TOKEN}", timeout=0.2)
    try:
        assert await beat.beat() is False
    finally:
        await beat.aclose()
    assert beat.failures == 1

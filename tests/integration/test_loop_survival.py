"""Background loops survive any exception: the delivery loop of a whole Bot keeps going through
an unexpected error (the kind that used to end `perfbot run`: anything but
DatabaseUnavailable), /healthz fails while it keeps failing and recovers with it, and the alert queued meanwhile is
delivered. Slow queries are reported as slow, not as an outage."""

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from rich.console import Console

from bot import errors
from bot.app import Bot
from bot.clock import SystemClock
from bot.config import Settings
from bot.models import Delivery, DeliveryStatus, Severity
from bot.store import Store
from tests.factories import make_new_alert
from tests.fakes.server import free_port
from tests.polling import eventually


class Faulty:
    """Wraps `claim`: raises `error` until `heal()`, counting the calls."""

    def __init__(self, claim: Callable[..., Awaitable[list[Delivery]]], error: Exception) -> None:
        self._claim = claim
        self._error = error
        self.healed = False
        self.calls = 0

    async def __call__(self, *args: Any) -> list[Delivery]:
        self.calls += 1
        if not self.healed:
            raise self._error
        return await self._claim(*args)

    def heal(self) -> None:
        self.healed = True


async def test_the_delivery_loop_survives_an_unexpected_exception(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery")
    port = free_port()
    settings = Settings.load(
        http={"port": port},
        channels={"terminal": {"type": "console"}},
        delivery={"rate_limits": {}},
    )
    printed = io.StringIO()
    bot = Bot.build(settings, store, SystemClock(), console=Console(file=printed, width=100))
    # Not a DatabaseUnavailable, nor any BotError: a bug, say.
    fault = Faulty(store.deliveries.claim, RuntimeError("injected fault"))
    store.deliveries.claim = fault  # type: ignore[method-assign,assignment]
    stop, ready = asyncio.Event(), asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    task = asyncio.create_task(bot.serve(stop, on_ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        async with aiohttp.ClientSession() as session:

            async def health() -> tuple[int, dict[str, Any]]:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    return resp.status, await resp.json()

            async def streak_shows() -> bool:
                status, body = await health()
                return status == 503 and body["checks"]["delivery"]["loop"]["failures"] >= 3

            await eventually(streak_shows, within=20)
            status, body = await health()
            loop = body["checks"]["delivery"]["loop"]
            assert body["checks"]["delivery"]["ok"] is False
            assert loop["ok"] is False
            assert loop["last_error"] == "RuntimeError: injected fault"
            assert body["checks"]["database"]["ok"] is True
            assert not task.done()

            async with store.alerts.transaction() as tx:
                alert = await tx.insert_alert(make_new_alert(severity=Severity.WARNING))
                await tx.enqueue(
                    alert.id,
                    "terminal",
                    "fired",
                    Severity.WARNING,
                    now=SystemClock().now(),
                    max_attempts=5,
                )
            fault.heal()

            async def delivered() -> bool:
                rows = await store.deliveries.for_alert(alert.id)
                return [d.status for d in rows] == [DeliveryStatus.SENT]

            await eventually(delivered, within=60)  # the back-off may be up to 30 s
            status, body = await health()
            assert status == 200
            assert body["checks"]["delivery"]["loop"]["failures"] == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert str(alert.id) in printed.getvalue()
    failed = [r for r in caplog.records if getattr(r, "action", "") == "delivery_loop_failed"]
    assert failed[0].exc_info is not None  # the traceback, once
    assert all(r.exc_info is None for r in failed[1:])
    assert len(failed) < fault.calls  # throttled: not one line per failure
    assert any(getattr(r, "action", "") == "delivery_loop_recovered" for r in caplog.records)


async def test_a_slow_query_is_slow_not_unavailable(store: Store) -> None:
    with pytest.raises(errors.QueryTimeout, match="too slow"):
        async with store.connector.connection() as conn:
            await conn.execute("SELECT pg_sleep(5)", timeout=0.05)

    async def cancelled_by_the_server() -> None:
        async with store.connector.transaction() as conn:
            await conn.execute("SET LOCAL statement_timeout = 50")
            await conn.execute("SELECT pg_sleep(5)")

    with pytest.raises(errors.QueryTimeout, match="QueryCanceledError"):
        await cancelled_by_the_server()
    async with store.connector.connection() as conn:  # and the pool still works
        assert await conn.fetchval("SELECT 1") == 1


async def test_a_scheduler_tick_that_raises_is_counted_not_fatal(store: Store) -> None:
    from bot.scheduler import JobRunner, JobSpec, Scheduler

    class Broken(JobRunner):
        async def run(self, spec: JobSpec, *, slot: Any = None) -> Any:
            raise RuntimeError("injected fault")

    async def body(_: Any) -> int:
        return 0

    spec = JobSpec("tick", body, every=timedelta(seconds=1))
    scheduler = Scheduler(Broken(store, SystemClock(), "t"), [spec], speed=20.0)
    scheduler.start()
    try:

        async def failing() -> bool:
            return scheduler.health()["ok"] is False

        await eventually(failing)
        health = scheduler.health()
        assert health["running"] is True
        assert health["failing_jobs"]["tick"]["failures"] >= 3
        assert health["failing_jobs"]["tick"]["last_error"] == "RuntimeError: injected fault"
    finally:
        await scheduler.stop(grace=1)

"""A whole Bot served in-process: /healthz components and Prometheus /metrics."""

import asyncio

import aiohttp

from bot.app import Bot
from bot.clock import SystemClock
from bot.config import Settings
from bot.models import ActorSource
from bot.routing.transition import Actor
from bot.store import Store
from tests.fakes.server import free_port
from tests.polling import eventually


async def test_healthz_and_metrics(store: Store) -> None:
    port = free_port()
    settings = Settings.load(http={"port": port}, schedules={"escalate": "1s"})
    bot = Bot.build(settings, store, SystemClock())
    async with store.connector.pool.acquire() as conn:  # as a refresh that skipped rows leaves it
        await conn.execute("INSERT INTO perfbot.operations (name) VALUES ('commit'), ('merge')")
        await conn.execute(
            "INSERT INTO perfbot.skipped_source_rows (reason, rows) VALUES ('invalid_name', 3)"
        )
    stop = asyncio.Event()
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    task = asyncio.create_task(bot.serve(stop, on_ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                health = await resp.json()
            assert resp.status == 200
            assert set(health["checks"]) == {
                "database",
                "scheduler",
                "delivery",
                "channels",
                "jobs",
            }

            scraped: list[str] = []

            async def escalated_once() -> bool:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    assert resp.status == 200
                    scraped.append(await resp.text())
                return 'perfbot_job_runs_total{job="escalate",status="success"}' in scraped[-1]

            await eventually(escalated_once, within=30)
        text = scraped[-1]
        assert "perfbot_delivery_queue_depth" in text
        assert 'perfbot_job_runs_total{job="escalate",status="success"}' in text
        assert "perfbot_job_duration_seconds_bucket" in text
        assert 'perfbot_source_rows_skipped{reason="invalid_name"} 3.0' in text
        assert 'perfbot_source_rows_skipped{reason="operation_cap"} 0.0' in text
        assert "perfbot_operations 2.0" in text
        assert "perfbot_source_late_rows_total 0.0" in text
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def test_healthz_is_degraded_when_a_job_keeps_failing(store: Store) -> None:
    port = free_port()
    bot = Bot.build(Settings.load(http={"port": port}), store, SystemClock())
    async with store.connector.pool.acquire() as conn:  # three nights of failed cleanups
        await conn.execute(
            """INSERT INTO perfbot.job_runs (job, slot, status, owner, started_at, error)
               SELECT 'cleanup', now() - k * interval '1 day', 'failed', 'r1',
                      now() - k * interval '1 day', 'query timed out'
                 FROM generate_series(1, 3) k"""
        )
    stop, ready = asyncio.Event(), asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    task = asyncio.create_task(bot.serve(stop, on_ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as resp,
        ):
            health = await resp.json()
        assert resp.status == 503
        assert health["status"] == "degraded"
        assert health["checks"]["jobs"] == {
            "ok": False,
            "problems": ["job cleanup failed its last 3 runs: query timed out"],
            "last_detect_success": None,
            "last_detect_age_s": None,
        }
        console = Actor(user_id="console", user_name="me", source=ActorSource.CONSOLE)
        reply = await bot.commands.run("/perf status", console)
        assert "job cleanup failed its last 3 runs" in reply.text
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)

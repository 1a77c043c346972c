"""A whole Bot served in-process: /healthz components and Prometheus /metrics."""

import asyncio

import aiohttp

from bot.app import Bot
from bot.clock import SystemClock
from bot.config import Settings
from bot.store import Store
from tests.fakes.server import free_port


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
            assert set(health["checks"]) == {"database", "scheduler", "delivery", "channels"}
            await asyncio.sleep(1.5)  # let the escalate job run once
            async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                text = await resp.text()
        assert resp.status == 200
        assert "perfbot_delivery_queue_depth" in text
        assert 'perfbot_job_runs_total{job="escalate",status="success"}' in text
        assert "perfbot_job_duration_seconds_bucket" in text
        assert 'perfbot_source_rows_skipped{reason="invalid_name"} 3.0' in text
        assert 'perfbot_source_rows_skipped{reason="operation_cap"} 0.0' in text
        assert "perfbot_operations 2.0" in text
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)

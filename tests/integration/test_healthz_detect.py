"""`/healthz` reports the last successful detect cycle's age, and is degraded once it is older
than three detection intervals, even when detect never failed three times in a row."""

from datetime import timedelta

import aiohttp
from aiohttp import web

from bot.app import Bot
from bot.clock import FrozenClock
from bot.config import Settings
from bot.store import Store
from tests.factories import T0
from tests.fakes.server import free_port

MINUTE = timedelta(minutes=1)


async def record(store: Store, status: str, ago: timedelta) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO perfbot.job_runs (job, slot, status, owner, started_at, finished_at)
               VALUES ('detect', $1::timestamptz, $2, 'r1', $1::timestamptz,
                       CASE WHEN $2 = 'running' THEN NULL
                            ELSE $1::timestamptz + interval '2 seconds' END)""",
            T0 - ago,
            status,
        )


async def healthz(bot: Bot) -> tuple[int, dict]:
    """GET /healthz from the bot's own app, without starting its scheduler (no detect run)."""
    port = free_port()
    runner = web.AppRunner(bot.http_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as resp,
        ):
            return resp.status, await resp.json()
    finally:
        await runner.cleanup()


async def test_reports_the_age_and_is_ok_within_three_intervals(store: Store) -> None:
    bot = Bot.build(Settings.load(), store, FrozenClock(T0))
    bot.started = T0 - timedelta(seconds=30)  # no other job is overdue yet
    await record(store, "success", 3 * MINUTE)
    await record(store, "failed", 2 * MINUTE)
    _, health = await healthz(bot)  # 503 for the scheduler, not started here
    jobs = health["checks"]["jobs"]
    assert (jobs["ok"], jobs["problems"]) == (True, []), health
    assert jobs["last_detect_age_s"] == 178.0
    assert jobs["last_detect_success"] == (T0 - 3 * MINUTE + timedelta(seconds=2)).isoformat()


async def test_degraded_when_the_last_success_is_older_than_three_intervals(store: Store) -> None:
    bot = Bot.build(Settings.load(), store, FrozenClock(T0))
    bot.started = T0 - timedelta(seconds=30)  # no other job is overdue yet
    await record(store, "success", 6 * MINUTE)
    # failing, and a run left `running` by a replica that died: never three failures in a row
    for ago in (5, 4, 2, 1):
        await record(store, "failed" if ago != 4 else "running", ago * MINUTE)
    status, health = await healthz(bot)
    jobs = health["checks"]["jobs"]
    assert status == 503
    assert health["status"] == "degraded"
    assert jobs["last_detect_age_s"] == 358.0
    assert jobs["problems"] == [
        "job detect has not succeeded since 2026-11-27 11:54 UTC (every 1m)"
    ]

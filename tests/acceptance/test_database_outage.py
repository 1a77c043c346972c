"""PostgreSQL restarted under a running bot: it logs, keeps serving /healthz (degraded while
the database is away), reconnects, resumes its jobs, runs no job slot twice, and exits 0.

The test restarts a PostgreSQL of its own (embedded, in a temporary directory), never the
shared test server."""

import asyncio
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.acceptance.harness import PerfbotProcess
from tests.polling import eventually


@pytest.fixture
def own_server() -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver import postgres_server

        root = Path(tempfile.mkdtemp(prefix="perfbot-outage-"))
        server: Any = postgres_server.get_server(root / "pgdata", cleanup_mode="delete")
    yield server
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server.cleanup()


def pg_ctl(server: Any, *args: str) -> None:
    from pgserver import _commands

    run = getattr(_commands, "pg_ctl")  # noqa: B009 -- generated at import; invisible to mypy
    run(list(args), pgdata=server.pgdata, user=server.system_user)


async def health(url: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=15)) as resp,
    ):
        return resp.status, await resp.json()


async def test_bot_survives_a_database_restart(own_server: Any, tmp_path: Path) -> None:
    url = own_server.get_uri()
    config = {"schedules": {"escalate": "1s"}}
    bot = await PerfbotProcess(url, tmp_path, config).start()
    try:
        status, body = await health(bot.url)
        assert status == 200, body

        await asyncio.to_thread(pg_ctl, own_server, "-w", "-m", "fast", "stop")

        async def degraded() -> bool:
            code, report = await health(bot.url)
            return code == 503 and report["checks"]["database"]["ok"] is False

        await eventually(degraded, within=30)

        async def jobs_failed() -> bool:
            # jobs fire while the database is away: the escalate ticks fail (and are counted)
            _, report = await health(bot.url)
            failing = report["checks"]["scheduler"]["failing_jobs"]
            return bool(failing.get("escalate", {}).get("failures", 0) >= 2)

        await eventually(jobs_failed, within=30)
        assert bot.process is not None
        assert bot.process.returncode is None, bot.output()

        await asyncio.to_thread(own_server.ensure_postgres_running)

        async def healthy() -> bool:
            code, _ = await health(bot.url)
            return code == 200

        await eventually(healthy, within=30)
        conn = await asyncpg.connect(url)
        try:
            restarted = await conn.fetchval("SELECT pg_postmaster_start_time()")

            async def jobs_resumed() -> bool:
                n = await conn.fetchval(
                    "SELECT count(*) FROM perfbot.job_runs WHERE job = 'escalate' AND started_at > $1 AND status = 'success'",
                    restarted,
                )
                return bool(n >= 2)

            await eventually(jobs_resumed, within=30)
            duplicates = await conn.fetchval(
                "SELECT count(*) FROM (SELECT job, slot FROM perfbot.job_runs GROUP BY 1, 2 HAVING count(*) > 1) d"
            )
            assert duplicates == 0
        finally:
            await conn.close()
    finally:
        code = await bot.stop()
    output = bot.output()
    assert code == 0, output
    assert "database unavailable" in output or "job_unavailable" in output
    assert "Traceback" not in output

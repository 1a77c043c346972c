"""Advisory locks cannot outlive their holder: a job cancelled while it holds its lock, or while
it waits for it (even as it is granted), leaves no advisory lock in `pg_locks`, and the next
holder takes it at once."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from bot.config import Settings
from bot.store import Store, migrate
from bot.store.pool import create_pool
from tests.polling import eventually

KEY = 0x7065_7266_7465_7374  # "perftest"


@pytest.fixture
async def other(db_url: str) -> AsyncIterator["asyncpg.Connection[Any]"]:
    """A connection of another process (another replica, the CLI)."""
    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        yield conn
    finally:
        await conn.close()


async def advisory_locks(conn: "asyncpg.Connection[Any]", key: int) -> list[bool]:
    """`granted` of every advisory lock (held or awaited) on `key` in this database, held
    first."""
    rows = await conn.fetch(
        "SELECT granted FROM pg_locks WHERE locktype = 'advisory' AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND ((classid::bigint << 32) | objid::bigint) = $1",
        key,
    )
    return sorted((r["granted"] for r in rows), reverse=True)


async def free_at_once(conn: "asyncpg.Connection[Any]", key: int) -> bool:
    """Whether another session can take `key` right now (without waiting), released again."""
    taken = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
    if taken:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
    return taken


async def hold(store: Store, entered: asyncio.Event) -> None:
    async with store.connector.exclusive(KEY):
        entered.set()
        await asyncio.Event().wait()  # a job body that never ends by itself


async def test_a_job_cancelled_while_holding_its_lock_leaves_none(
    store: Store, other: "asyncpg.Connection[Any]"
) -> None:
    entered = asyncio.Event()
    task = asyncio.create_task(hold(store, entered))
    async with asyncio.timeout(10):
        await entered.wait()
    assert await advisory_locks(other, KEY) == [True]
    assert not await free_at_once(other, KEY)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await advisory_locks(other, KEY) == []
    assert await free_at_once(other, KEY)


async def waiting(other: "asyncpg.Connection[Any]", key: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await advisory_locks(other, key) == [True, False]

    return check


@pytest.mark.parametrize("round_", range(3))
async def test_a_job_cancelled_while_waiting_for_its_lock_leaves_none(
    store: Store, other: "asyncpg.Connection[Any]", round_: int
) -> None:
    """The other holder lets go just as the waiting job is cancelled: the server grants the
    lock before the driver's cancel request arrives (it needs a new connection), so the
    cancelled job's connection goes back to the pool holding it, unless the lock ends with a
    transaction (or the pool's reset releases it)."""
    await other.execute("SELECT pg_advisory_lock($1)", KEY)
    task = asyncio.create_task(hold(store, asyncio.Event()))
    await eventually(await waiting(other, KEY))
    task.cancel()
    await other.execute("SELECT pg_advisory_unlock($1)", KEY)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await advisory_locks(other, KEY) == []
    assert await free_at_once(other, KEY)
    # and the pool's own connections can take it too (none of them kept it)
    async with asyncio.timeout(10), store.connector.exclusive(KEY):
        assert await advisory_locks(other, KEY) == [True]


async def test_a_start_cancelled_while_waiting_for_the_migration_lock_leaves_none(
    db_url: str, other: "asyncpg.Connection[Any]"
) -> None:
    key = migrate.ADVISORY_LOCK_KEY
    pool = await create_pool(db_url, max_size=2)
    try:
        await other.execute("SELECT pg_advisory_lock($1)", key)
        task = asyncio.create_task(migrate.apply(pool))
        await eventually(await waiting(other, key))
        task.cancel()
        await other.execute("SELECT pg_advisory_unlock($1)", key)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await advisory_locks(other, key) == []
        assert await free_at_once(other, key)
    finally:
        await pool.close()


async def test_a_detect_job_past_its_timeout_leaves_no_lock(
    store: Store, other: "asyncpg.Connection[Any]"
) -> None:
    """The real job: a detection cycle waiting for another cycle's lock is cancelled by its
    timeout; the other cycle then finishes and nothing is left locked."""
    from bot.alerts import AlertService
    from bot.clock import SystemClock
    from bot.jobs import DETECT_LOCK_KEY, Jobs

    settings = Settings.load()
    jobs = Jobs(store, settings, AlertService(store, settings, SystemClock()))
    await other.execute("SELECT pg_advisory_lock($1)", DETECT_LOCK_KEY)
    task = asyncio.create_task(jobs.detect(SystemClock().now()))
    await eventually(await waiting(other, DETECT_LOCK_KEY))
    task.cancel()
    await other.execute("SELECT pg_advisory_unlock($1)", DETECT_LOCK_KEY)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await advisory_locks(other, DETECT_LOCK_KEY) == []
    assert await free_at_once(other, DETECT_LOCK_KEY)

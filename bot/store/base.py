"""What every part of the store shares: the pool, and `connection()`, which turns a lost or
unreachable database into `DatabaseUnavailable` wherever it happens (acquiring, or mid-query),
so callers above the store handle one error for "the database is down"."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from bot import errors
from bot.store.pool import CONNECT_TIMEOUT_S
from bot.store.queries import QUERIES

DISCONNECTED = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash shutdown, starting up
    asyncpg.exceptions.InterfaceError,  # "connection is closed", "pool is closing"
)
"""Exceptions that mean the database went away, not that a query was wrong."""


class StoreBase:
    _pool: "asyncpg.Pool[Any]"

    @asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[None]:
        """Hold a session advisory lock for the block: one holder at a time across processes
        (a detection cycle started by the CLI while the bot runs one waits for it)."""
        async with self.connection() as conn:
            await conn.execute(QUERIES["advisory_lock"], key)
            try:
                yield
            finally:
                await conn.execute(QUERIES["advisory_unlock"], key)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator["asyncpg.pool.PoolConnectionProxy[Any]"]:
        """A pooled connection; losing the database becomes DatabaseUnavailable."""
        try:
            async with self._pool.acquire(timeout=CONNECT_TIMEOUT_S) as conn:
                yield conn
        except DISCONNECTED as exc:
            raise errors.DatabaseUnavailable(
                f"database unavailable: {type(exc).__name__}: {exc}"
            ) from exc

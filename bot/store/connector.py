"""The connector: the one object that owns the asyncpg pool. Every repository of the store goes
through it for a connection, so a lost or unreachable database becomes `DatabaseUnavailable`
wherever it happens (acquiring, or mid-query) and callers above the store handle one error for
"the database is down". It also holds advisory locks (`exclusive`), transactions, and what
`perfbot db status` shows of the connection (masked URL, embedded or not).

Advisory locks are transaction-scoped here: a lock ends with its transaction, so a cancellation
at any point (while waiting, just as the lock is granted, or while holding it) rolls the
transaction back and leaves no lock behind on a pooled connection. The pool's reset also runs
`pg_advisory_unlock_all()` as a backstop (`pool.py`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from bot import errors
from bot.store import pool
from bot.store.queries import QUERIES

DISCONNECTED = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash shutdown, starting up
    asyncpg.exceptions.InterfaceError,  # "connection is closed", "pool is closing"
)
"""Exceptions that mean the database went away, not that a query was wrong."""

REFUSED = (asyncpg.exceptions.TooManyConnectionsError,)
"""Exceptions on connecting that mean the server takes no new connection now."""

SLOW = (TimeoutError, asyncpg.exceptions.QueryCanceledError)
"""Exceptions from a query (not from acquiring a connection) that mean it ran out of time:
asyncpg's command timeout, the server's statement_timeout."""


class Connector:
    """The asyncpg pool of one database, and how the repositories use it."""

    def __init__(self, db: "asyncpg.Pool[Any]", *, url: str = "", embedded: bool = False) -> None:
        self.pool = db
        self.embedded = embedded
        self._url = url

    @classmethod
    async def open(
        cls,
        database_url: str | None,
        data_dir: Path | None = None,
        *,
        min_size: int = 1,
        max_size: int = 10,
    ) -> "Connector":
        """Connect to `database_url`, or start the embedded server when it is None. Raises
        DatabaseUnavailable."""
        url, embedded = pool.resolve_url(database_url, data_dir)
        db = await pool.create_pool(url, min_size=min_size, max_size=max_size)
        return cls(db, url=url, embedded=embedded)

    async def close(self) -> None:
        await self.pool.close()

    @property
    def masked_url(self) -> str:
        """The database URL with any password replaced by `***`."""
        return pool.mask_url(self._url)

    async def default_timezone(self) -> str:
        """The database's `TimeZone` as a writer's session sees it (postgresql.conf, `ALTER
        DATABASE … SET timezone`): read on a connection of its own, since perfbot's sessions
        run in UTC."""
        try:
            conn = await asyncpg.connect(self._url, timeout=pool.CONNECT_TIMEOUT_S)
        except DISCONNECTED as exc:
            raise errors.DatabaseUnavailable(f"cannot connect to {self.masked_url}") from exc
        try:
            return str(await conn.fetchval(QUERIES["show_timezone"], timeout=10))
        finally:
            await conn.close(timeout=10)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator["asyncpg.pool.PoolConnectionProxy[Any]"]:
        """A pooled connection; losing the database (or not getting a connection in time)
        becomes DatabaseUnavailable, a query of the block that runs out of time QueryTimeout."""
        try:
            async with self.pool.acquire(timeout=pool.CONNECT_TIMEOUT_S) as conn:
                try:
                    yield conn
                except SLOW as exc:
                    raise errors.QueryTimeout(
                        f"query too slow: {type(exc).__name__}: {exc}".rstrip(": ")
                    ) from exc
        except (*DISCONNECTED, *REFUSED) as exc:
            raise errors.DatabaseUnavailable(
                f"database unavailable: {type(exc).__name__}: {exc}"
            ) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator["asyncpg.pool.PoolConnectionProxy[Any]"]:
        """A pooled connection inside a transaction: commit on success, roll back on any
        error."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[None]:
        """Hold advisory lock `key` for the block: one holder at a time across processes (a
        detection cycle started by the CLI while the bot runs one waits for it). The lock is a
        transaction lock on a connection of its own, held open (idle, without a snapshot) for
        the block; the block's queries use other connections. Leaving the block in any way,
        cancellation included, ends the transaction and so the lock."""
        async with self.transaction() as conn:
            await conn.execute(QUERIES["advisory_xact_lock"], key)
            yield

"""`Store`: the only place perfbot talks SQL. It owns the asyncpg pool and converts rows into
frozen domain models once. Groups of methods live in mixin modules named for what they store
(`metrics.py`, …); this module holds connection life-cycle, migrations, status and the source
mapping."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bot import errors
from bot.config import SourceSettings
from bot.store import migrate, pool, source
from bot.store.alerts import AlertsMixin
from bot.store.findings import FindingsMixin
from bot.store.jobruns import JobRunsMixin
from bot.store.metrics import MetricsMixin
from bot.store.outbox import OutboxMixin
from bot.store.queries import QUERIES
from bot.store.rollups import RollupsMixin

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseStatus:
    url: str  # password masked
    embedded: bool
    server_version: str
    database: str
    user: str
    schema_version: int | None
    latest_version: int
    row_counts: dict[str, int]


class Store(MetricsMixin, RollupsMixin, FindingsMixin, JobRunsMixin, AlertsMixin, OutboxMixin):
    def __init__(self, db: "asyncpg.Pool[Any]", *, url: str = "", embedded: bool = False) -> None:
        self._pool = db
        self._url = url
        self._embedded = embedded

    @classmethod
    async def open(
        cls,
        database_url: str | None,
        data_dir: Path | None = None,
        *,
        min_size: int = 1,
        max_size: int = 10,
    ) -> "Store":
        """Connect to `database_url`, or start the embedded server when it is None."""
        url, embedded = pool.resolve_url(database_url, data_dir)
        db = await pool.create_pool(url, min_size=min_size, max_size=max_size)
        return cls(db, url=url, embedded=embedded)

    async def close(self) -> None:
        await self._pool.close()

    @property
    def pool(self) -> "asyncpg.Pool[Any]":
        return self._pool

    @property
    def masked_url(self) -> str:
        return pool.mask_url(self._url)

    async def migrate(
        self, source_settings: SourceSettings | None = None
    ) -> list[migrate.Migration]:
        """Apply pending migrations, then point the source views at the configured tables."""
        applied = await migrate.apply(self._pool)
        if source_settings is not None:
            await self.apply_source(source_settings)
        return applied

    async def apply_source(self, settings: SourceSettings) -> None:
        """(Re)create the source views from the configuration. Raises ConfigError when the
        configured table or a column does not exist."""
        statements = [
            ("source.table", settings.table, source.metrics_view_sql(settings)),
            ("source.merges_table", settings.merges_table, source.merges_view_sql(settings)),
        ]
        async with self.connection() as conn, conn.transaction():
            await conn.execute(QUERIES["advisory_xact_lock"], migrate.ADVISORY_LOCK_KEY)
            for where, table, ddl in statements:
                try:
                    async with conn.transaction():  # a savepoint: a failed attempt can be retried
                        await conn.execute(ddl)
                except asyncpg.exceptions.UndefinedTableError:
                    raise errors.ConfigError([f"{where}: table {table} does not exist"]) from None
                except asyncpg.exceptions.UndefinedColumnError as exc:
                    raise errors.ConfigError(
                        [f"{where}: {exc.args[0] if exc.args else exc} (check source column names)"]
                    ) from None
                except asyncpg.exceptions.InvalidTableDefinitionError:
                    # The view's shape changed in a newer perfbot; rebuild it.
                    view = source.METRICS_VIEW if where == "source.table" else source.MERGES_VIEW
                    await conn.execute(source.drop_view_sql(view))
                    await conn.execute(ddl)

    async def health(self) -> dict[str, Any]:
        """`{"ok": True, "latency_ms": …}` when a trivial query succeeds within 2 s."""
        started = time.perf_counter()
        try:
            async with self.connection() as conn:
                await conn.fetchval(QUERIES["ping"], timeout=2)
        except (asyncpg.PostgresError, TimeoutError) as exc:
            return {"ok": False, "error": f"database not answering: {type(exc).__name__}"}
        except errors.DatabaseUnavailable as exc:
            return {"ok": False, "error": exc.message}
        return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}

    async def status(self) -> DatabaseStatus:
        """Server, schema version and row counts, for `perfbot db status`."""
        version = await migrate.current_version(self._pool)
        async with self.connection() as conn:
            info = await conn.fetchrow(QUERIES["server_info"])
            counts: dict[str, int] = {}
            if version is not None:
                counts = {r["name"]: r["n"] for r in await conn.fetch(QUERIES["table_row_counts"])}
        assert info is not None
        return DatabaseStatus(
            url=self.masked_url,
            embedded=self._embedded,
            server_version=info["version"],
            database=info["database"],
            user=info["user"],
            schema_version=version,
            latest_version=max(m.version for m in migrate.available()),
            row_counts=counts,
        )

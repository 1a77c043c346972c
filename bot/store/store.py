"""`Store`: the only place perfbot talks SQL, as one facade over one `Connector`. Each aggregate
has its repository (`store.alerts`, `store.deliveries`, `store.findings`, `store.rollups`,
`store.jobs`, `store.metrics`, `store.operations`, `store.source`, `store.requests`,
`store.retention`, `store.oncall`), in the module named for it; this module opens and closes
the connection, applies migrations and answers
for the database as a whole (status, health)."""

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from bot import errors
from bot.config import Settings, SourceSettings
from bot.config.params import params
from bot.models import OperationLimits
from bot.store import migrate
from bot.store.alerts import AlertRepository
from bot.store.connector import Connector
from bot.store.deliveries import DeliveryRepository
from bot.store.findings import FindingRepository
from bot.store.jobruns import JobRunRepository
from bot.store.metrics import MetricRepository
from bot.store.oncall import OncallRepository
from bot.store.operations import OperationRepository
from bot.store.queries import QUERIES
from bot.store.requests import SeenRequestRepository
from bot.store.retention import RetentionRepository
from bot.store.rollups import LateRows, RollupRepository
from bot.store.shards import ShardClaimRepository
from bot.store.source import SourceRepository, SourceStatus


@dataclass(frozen=True)
class TableSize:
    """One of perfbot's tables on disk: `bytes` with its indexes and TOAST, `rows` the
    planner's estimate (None before the table was first analysed)."""

    name: str
    bytes: int
    rows: int | None


@dataclass(frozen=True)
class DatabaseStatus:
    url: str  # password masked
    embedded: bool
    server_version: str
    database: str
    user: str
    schema_version: int | None
    latest_version: int
    tables: list[TableSize]  # largest first
    source: SourceStatus | None = None


class Store:
    """The repositories of one database, sharing its connector."""

    def __init__(self, connector: Connector, limits: OperationLimits | None = None) -> None:
        self.connector = connector
        self.operations = OperationRepository(connector, limits)
        self.alerts = AlertRepository(connector)
        self.deliveries = DeliveryRepository(connector)
        self.findings = FindingRepository(connector)
        self.rollups = RollupRepository(connector, self.operations)
        self.jobs = JobRunRepository(connector)
        self.shards = ShardClaimRepository(connector)
        self.metrics = MetricRepository(connector, self.operations)
        self.source = SourceRepository(connector)
        self.requests = SeenRequestRepository(connector)
        self.retention = RetentionRepository(connector)
        self.oncall = OncallRepository(connector)

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
        return cls(
            await Connector.open(database_url, data_dir, min_size=min_size, max_size=max_size)
        )

    @classmethod
    async def connect(cls, settings: Settings) -> "Store":
        """The store as configured: connect to `database_url` (the embedded server in
        `data_dir` when there is none), apply pending migrations and map the source; the
        operation caps are `detection:`'s."""
        store = await cls.open(
            settings.database_url.get_secret_value() if settings.database_url else None,
            settings.data_dir,
        )
        store.operations.limits = params(OperationLimits, settings.detection)
        store.rollups.late = LateRows(settings.source.late_grace, settings.source.late_check)
        try:
            await store.migrate(settings.source)
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        await self.connector.close()

    async def migrate(
        self, source_settings: SourceSettings | None = None
    ) -> list[migrate.Migration]:
        """Apply pending migrations, then point the source views at the configured tables."""
        applied = await migrate.apply(self.connector.pool)
        if source_settings is not None:
            await self.source.apply(source_settings)
        return applied

    async def health(self) -> dict[str, Any]:
        """`{"ok": True, "latency_ms": …}` when a trivial query succeeds within 2 s."""
        started = time.perf_counter()
        try:
            async with self.connector.connection() as conn:
                await conn.fetchval(QUERIES["ping"], timeout=2)
        except (asyncpg.PostgresError, TimeoutError) as exc:
            return {"ok": False, "error": f"database not answering: {type(exc).__name__}"}
        except errors.QueryTimeout:
            return {"ok": False, "error": "database not answering: too slow"}
        except errors.DatabaseUnavailable as exc:
            return {"ok": False, "error": exc.message}
        return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}

    async def table_sizes(self) -> list[TableSize]:
        """perfbot's tables with their size on disk and estimated rows, largest first: read
        from the catalog, never by counting rows."""
        async with self.connector.connection() as conn:
            rows = await conn.fetch(QUERIES["table_sizes"])
        return [TableSize(r["name"], r["bytes"], r["rows"]) for r in rows]

    async def status(self, now: datetime) -> DatabaseStatus:
        """Server, schema version, table sizes and the source, for `perfbot db status`."""
        version = await migrate.current_version(self.connector.pool)
        async with self.connector.connection() as conn:
            info = await conn.fetchrow(QUERIES["server_info"])
        assert info is not None
        tables = await self.table_sizes() if version is not None else []
        return DatabaseStatus(
            url=self.connector.masked_url,
            embedded=self.connector.embedded,
            server_version=info["version"],
            database=info["database"],
            user=info["user"],
            schema_version=version,
            latest_version=max(m.version for m in migrate.available()),
            tables=tables,
            source=await self.source.status(now),
        )

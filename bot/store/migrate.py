"""Schema migrations: numbered files `migrations/NNNN_name.sql`, applied in order, each in its
own transaction, under a PostgreSQL advisory lock so that replicas starting together apply each
migration once. Applied versions and their checksums are recorded in
`perfbot.schema_migrations`; a changed checksum of an applied file is an error."""

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bot import errors
from bot.store.queries import QUERIES

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant shared by every perfbot replica: "perfbot" as a 63-bit integer.
ADVISORY_LOCK_KEY = 0x7065_7266_626F_74
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    """The migration files shipped with this version, in order."""
    found = []
    for path in sorted(MIGRATIONS_DIR.iterdir()):
        match = _FILE.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path.read_text("utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise errors.MigrationError("two migration files share a version number")
    return found


async def apply(pool: "asyncpg.Pool[Any]") -> list[Migration]:
    """Apply every pending migration; return the ones applied now (empty when up to date)."""
    applied_now: list[Migration] = []
    async with pool.acquire() as conn:
        await conn.execute(QUERIES["advisory_lock"], ADVISORY_LOCK_KEY)
        try:
            await conn.execute(QUERIES["create_migrations_table"])
            done = {
                r["version"]: r["checksum"] for r in await conn.fetch(QUERIES["applied_migrations"])
            }
            for migration in available():
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise errors.MigrationError(
                            f"migration {migration.version:04d}_{migration.name} was changed after it "
                            "was applied; add a new migration instead"
                        )
                    continue
                try:
                    async with conn.transaction():
                        await conn.execute(migration.sql)
                        await conn.execute(
                            QUERIES["record_migration"],
                            migration.version,
                            migration.name,
                            migration.checksum,
                        )
                except asyncpg.PostgresError as exc:
                    raise errors.MigrationError(
                        f"migration {migration.version:04d}_{migration.name} failed: {exc}"
                    ) from exc
                logger.info(
                    "migration applied",
                    extra={
                        "action": "migration_applied",
                        "version": migration.version,
                        "migration": migration.name,
                    },
                )
                applied_now.append(migration)
        finally:
            await conn.execute(QUERIES["advisory_unlock"], ADVISORY_LOCK_KEY)
    return applied_now


async def current_version(pool: "asyncpg.Pool[Any]") -> int | None:
    """The highest applied migration, or None on an empty database."""
    async with pool.acquire() as conn:
        exists = await conn.fetchval(QUERIES["migrations_table_exists"])
        if not exists:
            return None
        version: int | None = await conn.fetchval(QUERIES["schema_version"])
        return version

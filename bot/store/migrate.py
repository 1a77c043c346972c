"""Schema migrations: numbered files `migrations/NNNN_name.sql`, applied in order under a
PostgreSQL advisory lock so that replicas starting together apply each migration once. Applied
versions and their checksums are recorded in `perfbot.schema_migrations`; a changed checksum of
an applied file is an error (except the old texts listed in `EQUIVALENT_CHECKSUMS`).

Each migration runs in its own transaction, unless its first line is the marker
`-- perfbot: no-transaction`. Such a file holds statements that PostgreSQL refuses inside a
transaction block, above all `CREATE INDEX CONCURRENTLY`, which builds an index on a big table
without blocking its writers. Its statements run one by one, each on its own (so they must be
separated by a `;` at the end of a line, and none may contain one: no `DO` blocks), still under
the migration lock, and the migration is recorded once, after the last one succeeded. A failure
halfway leaves the earlier statements done and the migration unrecorded, so the next start runs
it again: every statement must be idempotent (`IF NOT EXISTS`, `IF EXISTS`). A failed
`CREATE INDEX CONCURRENTLY` leaves an INVALID index behind, which `IF NOT EXISTS` would take for
done; so before each `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS name ON schema.table`,
an INVALID index of that name in that schema is dropped (concurrently) and then rebuilt."""

import hashlib
import logging
import re
from collections.abc import Sequence
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
NO_TRANSACTION = "-- perfbot: no-transaction"
# A no-transaction statement's time limit: a concurrent index build on a big table can take
# hours (it waits for older transactions and scans the table twice), far past the pool's limit.
STATEMENT_TIMEOUT_S = 12 * 3600.0
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")
_CONCURRENT_INDEX = re.compile(
    r"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+([a-z_][a-z0-9_]*)\s+"
    r"ON\s+(?:ONLY\s+)?([a-z_][a-z0-9_]*)\.",
    re.IGNORECASE,
)

# Old texts of a shipped migration that databases may have applied and that did the same as
# today's text: their checksums are accepted for that version instead of failing the start.
EQUIVALENT_CHECKSUMS: dict[int, frozenset[str]] = {
    # 0003 built the recorded_at btree inside a transaction (a write lock on perfbot.metrics for
    # the whole build); it now builds the same index, same name, CONCURRENTLY. A database that
    # ran the old text has that index already.
    3: frozenset({"6a92b6f79337fd031277dce9b7450b8b53827939f0cff71d6aa9e6cbdcab9e6d"}),
}


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def transactional(self) -> bool:
        """False when the file's first line is the `-- perfbot: no-transaction` marker."""
        return self.sql.partition("\n")[0].strip() != NO_TRANSACTION

    def statements(self) -> list[str]:
        """The statements of a no-transaction migration, in order, without comment lines."""
        lines = [line for line in self.sql.splitlines() if not line.lstrip().startswith("--")]
        text = "\n".join(lines)
        return [s.strip() for s in _STATEMENT_END.split(text) if s.strip()]

    def accepts(self, checksum: str) -> bool:
        """Whether a recorded checksum stands for this migration (today's or an equivalent)."""
        return checksum == self.checksum or checksum in EQUIVALENT_CHECKSUMS.get(
            self.version, frozenset()
        )


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


async def apply(
    pool: "asyncpg.Pool[Any]", migrations: Sequence[Migration] | None = None
) -> list[Migration]:
    """Apply every pending migration (of `migrations`, default: the shipped files); return the
    ones applied now (empty when up to date)."""
    applied_now: list[Migration] = []
    async with pool.acquire() as conn:
        # The lock is a session lock (a no-transaction migration cannot run inside the
        # transaction a transaction lock would need), taken inside the `try` so that a
        # cancellation while waiting, or just as it is granted, still unlocks; the pool's reset
        # releases it as well if even that fails.
        try:
            await conn.execute(QUERIES["advisory_lock"], ADVISORY_LOCK_KEY)
            await conn.execute(QUERIES["create_migrations_table"])
            done = {
                r["version"]: r["checksum"] for r in await conn.fetch(QUERIES["applied_migrations"])
            }
            for migration in available() if migrations is None else migrations:
                if migration.version in done:
                    if not migration.accepts(done[migration.version]):
                        raise errors.MigrationError(
                            f"migration {migration.version:04d}_{migration.name} was changed after it "
                            "was applied; add a new migration instead"
                        )
                    continue
                await _apply_one(conn, migration)
                applied_now.append(migration)
        finally:
            await conn.execute(QUERIES["advisory_unlock"], ADVISORY_LOCK_KEY)
    return applied_now


async def _apply_one(conn: "asyncpg.pool.PoolConnectionProxy[Any]", migration: Migration) -> None:
    """Run one migration and record it; MigrationError when PostgreSQL refuses it."""
    record = (migration.version, migration.name, migration.checksum)
    try:
        if migration.transactional:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(QUERIES["record_migration"], *record)
        else:
            for statement in migration.statements():
                await _drop_invalid_index(conn, statement)
                await conn.execute(statement, timeout=STATEMENT_TIMEOUT_S)
            await conn.execute(QUERIES["record_migration"], *record)
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
            "transaction": migration.transactional,
        },
    )


async def _drop_invalid_index(
    conn: "asyncpg.pool.PoolConnectionProxy[Any]", statement: str
) -> None:
    """Before `CREATE INDEX CONCURRENTLY IF NOT EXISTS name ON schema.table`: drop an INVALID
    index `schema.name` (a build that failed halfway), which IF NOT EXISTS would keep."""
    match = _CONCURRENT_INDEX.match(statement)
    if match is None:
        return
    name, schema = match.group(1).lower(), match.group(2).lower()
    if await conn.fetchval(QUERIES["invalid_index_exists"], schema, name):
        logger.warning(
            "dropping an index left invalid by a failed concurrent build",
            extra={"action": "migration_invalid_index", "index": f"{schema}.{name}"},
        )
        # Both names matched a plain lower-case identifier pattern in a shipped migration file.
        await conn.execute(
            f"DROP INDEX CONCURRENTLY IF EXISTS {schema}.{name}",
            timeout=STATEMENT_TIMEOUT_S,
        )


async def current_version(pool: "asyncpg.Pool[Any]") -> int | None:
    """The highest applied migration, or None on an empty database."""
    async with pool.acquire() as conn:
        exists = await conn.fetchval(QUERIES["migrations_table_exists"])
        if not exists:
            return None
        version: int | None = await conn.fetchval(QUERIES["schema_version"])
        return version

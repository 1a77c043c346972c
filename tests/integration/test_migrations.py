"""Migrations outside a transaction (`-- perfbot: no-transaction`), the rebuilt 0003, and
databases that applied 0003's old text."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from bot import errors
from bot.analysis import histogram
from bot.store import migrate
from bot.store.pool import create_pool
from tests import database

OLD_0003 = """\
-- Detection reads the newest minutes of metrics by recorded_at every cycle. A BRIN index
-- returns every not-yet-summarised page range (all recent inserts) as a candidate, so the scan
-- of "the last two minutes" read hundreds of thousands of rows; a btree reads only them.
DROP INDEX IF EXISTS perfbot.metrics_recorded_at;
CREATE INDEX metrics_recorded_at ON perfbot.metrics (recorded_at);
"""


@pytest.fixture
async def empty_pool(pg_server: str) -> AsyncIterator["asyncpg.Pool[Any]"]:
    """A pool on a new, empty database."""
    name = database.unique_name("perfbot_mig")
    await database.admin_execute(pg_server, f'CREATE DATABASE "{name}"')
    pool = await create_pool(database.with_database(pg_server, name), max_size=3)
    try:
        yield pool
    finally:
        await pool.close()
        await database.admin_execute(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def index_of(pool: "asyncpg.Pool[Any]", name: str) -> tuple[str, bool, bool] | None:
    """(access method, valid, unique) of index perfbot.`name`, or None."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT am.amname, i.indisvalid, i.indisunique
                 FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
                 JOIN pg_am am ON am.oid = c.relam
                WHERE c.relname = $1 AND c.relnamespace = 'perfbot'::regnamespace""",
            name,
        )
    return None if row is None else (row[0], row[1], row[2])


def shipped(up_to: int) -> list[migrate.Migration]:
    return [m for m in migrate.available() if m.version <= up_to]


def test_the_marker_must_be_the_first_line() -> None:
    marked = migrate.Migration(9, "x", "-- perfbot: no-transaction\n-- why\nSELECT 1;\nSELECT 2;\n")
    assert not marked.transactional
    assert marked.statements() == ["SELECT 1", "SELECT 2"]
    assert migrate.Migration(9, "x", "-- why\n-- perfbot: no-transaction\nSELECT 1;").transactional
    assert not migrate.available()[2].transactional  # 0003


def test_the_old_0003_checksum_is_the_one_accepted() -> None:
    m0003 = migrate.available()[2]
    old = migrate.Migration(3, m0003.name, OLD_0003)
    assert m0003.accepts(old.checksum)
    assert m0003.accepts(m0003.checksum)
    assert not m0003.accepts(migrate.Migration(3, m0003.name, OLD_0003 + "\n").checksum)


async def test_a_no_transaction_migration_builds_an_index_concurrently(
    empty_pool: "asyncpg.Pool[Any]",
) -> None:
    """CREATE INDEX CONCURRENTLY fails inside a transaction block; with the marker it runs, is
    recorded once, and is not run again."""
    migrations = [
        *shipped(2),
        migrate.Migration(
            90,
            "concurrent",
            "-- perfbot: no-transaction\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS merges_user ON perfbot.merges (user_name);\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS merges_status ON perfbot.merges (status);\n",
        ),
    ]
    applied = await migrate.apply(empty_pool, migrations)
    assert [m.version for m in applied] == [1, 2, 90]
    assert await index_of(empty_pool, "merges_user") == ("btree", True, False)
    assert await index_of(empty_pool, "merges_status") == ("btree", True, False)
    assert await migrate.apply(empty_pool, migrations) == []
    async with empty_pool.acquire() as conn:
        recorded = await conn.fetchval(
            "SELECT count(*) FROM perfbot.schema_migrations WHERE version = 90"
        )
        # Only this test's database: other suites on a shared server hold their own locks.
        locks = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    assert recorded == 1
    assert locks == 0


async def test_0003_replaces_the_brin_index_with_a_btree(empty_pool: "asyncpg.Pool[Any]") -> None:
    await migrate.apply(empty_pool, shipped(2))
    assert await index_of(empty_pool, "metrics_recorded_at") == ("brin", True, False)
    await migrate.apply(empty_pool, shipped(3))
    assert await index_of(empty_pool, "metrics_recorded_at") == ("btree", True, False)
    assert await index_of(empty_pool, "metrics_recorded_at_btree") is None


async def test_0003_rebuilds_an_index_a_failed_concurrent_build_left_invalid(
    empty_pool: "asyncpg.Pool[Any]",
) -> None:
    """A concurrent build that failed halfway leaves an INVALID index, which IF NOT EXISTS
    alone would keep (and 0003 would then rename into place)."""
    await migrate.apply(empty_pool, shipped(2))
    async with empty_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO perfbot.metrics (operation_type, duration_ms, recorded_at) "
            "VALUES ('commit', 1, '2026-01-01Z'), ('commit', 2, '2026-01-01Z')"
        )
        with pytest.raises(asyncpg.UniqueViolationError):  # the build fails on the duplicate
            await conn.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY metrics_recorded_at_btree "
                "ON perfbot.metrics (recorded_at)"
            )
    assert await index_of(empty_pool, "metrics_recorded_at_btree") == ("btree", False, True)
    await migrate.apply(empty_pool, shipped(3))
    assert await index_of(empty_pool, "metrics_recorded_at") == ("btree", True, False)
    assert await index_of(empty_pool, "metrics_recorded_at_btree") is None


async def test_a_database_that_applied_the_old_0003_upgrades(
    empty_pool: "asyncpg.Pool[Any]",
) -> None:
    """The old 0003 (a btree built in a transaction) stays valid: the start goes on to the
    newer migrations; any other changed text is still refused."""
    old = [*shipped(2), migrate.Migration(3, migrate.available()[2].name, OLD_0003)]
    await migrate.apply(empty_pool, old)
    assert await index_of(empty_pool, "metrics_recorded_at") == ("btree", True, False)
    applied = await migrate.apply(empty_pool)
    assert [m.version for m in applied] == [m.version for m in migrate.available()[3:]]
    assert await index_of(empty_pool, "metrics_recorded_at") == ("btree", True, False)

    async with empty_pool.acquire() as conn:
        await conn.execute(
            "UPDATE perfbot.schema_migrations SET checksum = 'edited' WHERE version = 3"
        )
    with pytest.raises(errors.MigrationError, match="0003_metrics_recorded_at_btree was changed"):
        await migrate.apply(empty_pool)


async def test_0027_packs_the_histogram_arrays_and_drops_their_bytes(
    empty_pool: "asyncpg.Pool[Any]",
) -> None:
    await migrate.apply(empty_pool, shipped(26))
    wide = list(range(100, 400, 3))  # 100 buckets: the dropped array alone took 424 bytes
    rows = [  # (n, idx, cnt): one of each count width
        (12, [3, 7], [2, 10]),
        (len(wide) * 250, wide, [250] * len(wide)),
        (70_000, [5], [70_000]),
    ]
    async with empty_pool.acquire() as conn:
        for table in ("rollup_minute", "rollup_hour"):
            await conn.executemany(
                f"INSERT INTO perfbot.{table} (operation_type, bucket, n, sum_ms, m2_ms,"  # noqa: S608
                " sum_log, m2_log, min_ms, max_ms, hist_idx, hist_cnt)"
                " VALUES ($1, now(), $2, 1, 0, 0, 0, 1, 1, $3, $4)",
                [(f"op{i}", n, idx, cnt) for i, (n, idx, cnt) in enumerate(rows)],
            )
    assert [m.version for m in await migrate.apply(empty_pool, shipped(27))] == [27]
    async with empty_pool.acquire() as conn:
        for table in ("rollup_minute", "rollup_hour"):
            found = await conn.fetch(
                f"SELECT operation_type, hist, pg_column_size(t.*) AS size"  # noqa: S608
                f" FROM perfbot.{table} t ORDER BY operation_type"
            )
            assert [r["hist"] for r in found] == [histogram.pack(i, c) for _, i, c in rows]
            # The rewrite after the drop left no array bytes behind: 1 + 100 x 4 bytes packed.
            assert found[1]["size"] < 24 + 10 + 8 * 8 + 4 + 401 + 30, table
            columns = await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass"
                " AND attnum > 0 AND NOT attisdropped",
                f"perfbot.{table}",
            )
            assert "hist_idx" not in {c["attname"] for c in columns}
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_proc WHERE proname LIKE 'hist_pack%'") == 0
        )

"""Migrations from zero, and every named query PREPAREs against the schema."""

from datetime import UTC, datetime

import asyncpg
import pytest

from bot.store import Store, migrate
from bot.store.queries import QUERIES, parse
from tests import database


async def test_migrations_apply_from_zero_and_are_idempotent(pg_server: str) -> None:
    name = database.unique_name("perfbot_zero")
    await database.admin_execute(pg_server, f'CREATE DATABASE "{name}"')
    url = database.with_database(pg_server, name)
    try:
        store = await Store.open(url)
        try:
            assert await migrate.current_version(store.connector.pool) is None
            applied = await store.migrate()
            assert [m.version for m in applied] == [m.version for m in migrate.available()]
            assert await store.migrate() == []
            status = await store.status(datetime.now(UTC))
            assert status.schema_version == status.latest_version
            sizes = {t.name: t for t in status.tables}
            assert sizes["metrics"].bytes > 0  # its indexes take pages even when empty
            assert sizes["deliveries"].rows is None  # never analysed yet: no estimate
        finally:
            await store.close()
    finally:
        await database.admin_execute(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_every_named_query_prepares(store: Store) -> None:
    async with store.connector.pool.acquire() as conn:
        for name, sql in QUERIES.items():
            if ";" in sql.rstrip(";"):
                continue  # multi-statement DDL runs with the simple protocol, not PREPARE
            try:
                await conn.prepare(sql)
            except asyncpg.PostgresError as exc:
                pytest.fail(f"query {name!r} does not prepare: {exc}")


def test_query_file_rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        parse("-- a --\nSELECT 1\n-- a --\nSELECT 2\n")


def test_query_file_drops_doc_comments() -> None:
    assert parse("-- a --\n-- says what a does\nSELECT 1\n") == {"a": "SELECT 1"}


async def test_minute_rollups_fill_their_pages_and_hourly_ones_keep_room(store: Store) -> None:
    # minute rollups are written once (0023); the current hour's rollups are rewritten each
    # cycle and need room on their page for in-place updates (0017)
    async with store.connector.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT relname, reloptions FROM pg_class WHERE relnamespace = 'perfbot'::regnamespace"
            " AND relname IN ('rollup_minute', 'rollup_minute_pkey', 'rollup_hour')"
        )
    options = {r["relname"]: set(r["reloptions"] or []) for r in rows}
    assert "fillfactor=100" in options["rollup_minute"]
    assert "fillfactor=100" in options["rollup_minute_pkey"]
    assert "fillfactor=90" in options["rollup_hour"]

"""Migration files that index tables which already hold data build those indexes CONCURRENTLY,
outside a transaction: a plain CREATE INDEX locks the table against writes for the whole build
(the outbox, metrics and anomalies keep taking rows while perfbot upgrades)."""

import re

import pytest

from bot.store import migrate

# The first migration creates every table it indexes; later files index tables of earlier ones.
CREATE_TABLE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(perfbot\.\w+)", re.I)
CREATE_INDEX = re.compile(
    r"CREATE (?:UNIQUE )?INDEX (CONCURRENTLY )?(?:IF NOT EXISTS )?\w+\s+ON (perfbot\.\w+)", re.I
)
BEFORE_THE_RULE = 2  # 0001 and 0002 predate it (0003 was rewritten to follow it)


@pytest.mark.parametrize(
    "migration",
    [m for m in migrate.available() if m.version > BEFORE_THE_RULE],
    ids=lambda m: f"{m.version:04d}_{m.name}",
)
def test_indexes_on_existing_tables_are_built_concurrently(migration: migrate.Migration) -> None:
    created_here = set(CREATE_TABLE.findall(migration.sql))
    for concurrently, table in CREATE_INDEX.findall(migration.sql):
        if table in created_here:
            continue  # a new, empty table: a plain index in the same transaction is right
        assert concurrently, f"an index on {table} is built without CONCURRENTLY"
        assert not migration.transactional, "CONCURRENTLY needs the no-transaction marker"

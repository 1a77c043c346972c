"""Shared fixtures: real PostgreSQL (see tests/database.py), a Store on a fresh database per
test, and hygiene (no proxy variables: slack-sdk would route loopback calls through them)."""

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.config import SourceSettings
from bot.store import Store, migrate
from bot.store.pool import create_pool
from tests import database

pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture(autouse=True)
def _no_proxies(no_proxy: None) -> None:
    """Every test runs without proxy variables (slack-sdk would send loopback calls through
    them and ignores NO_PROXY)."""


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with database.server_url() as url:
        yield url


@pytest.fixture(scope="session")
async def template_database(pg_server: str) -> AsyncIterator[str]:
    """The name of a migrated template database."""
    name = database.unique_name("perfbot_tpl")
    await database.admin_execute(pg_server, f'CREATE DATABASE "{name}"')
    pool = await create_pool(database.with_database(pg_server, name))
    try:
        await migrate.apply(pool)
    finally:
        await pool.close()
    yield name
    await database.admin_execute(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db_url(pg_server: str, template_database: str) -> AsyncIterator[str]:
    """The URL of a fresh, migrated database for this test alone."""
    name = database.unique_name("perfbot_test")
    await database.admin_execute(
        pg_server, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'
    )
    yield database.with_database(pg_server, name)
    await database.admin_execute(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = await Store.open(db_url, max_size=5)
    await s.source.apply(SourceSettings())
    yield s
    await s.close()

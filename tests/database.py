"""Real PostgreSQL for tests: `PERFBOT_TEST_DATABASE_URL` if set, else an embedded server
started once per session. A migrated template database is built once; each test gets a fresh
copy (`CREATE DATABASE … TEMPLATE`), which takes a few milliseconds."""

import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.models import Metric


def with_database(url: str, database: str) -> str:
    """`url` pointing at another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@contextmanager
def server_url(variable: str = "PERFBOT_TEST_DATABASE_URL") -> Iterator[str]:
    """The URL of a PostgreSQL server we may create databases on: the one in `variable`, else
    an embedded one in a temporary directory, deleted afterwards."""
    configured = os.environ.get(variable)
    if configured:
        yield configured
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver import postgres_server

        root = tempfile.mkdtemp(prefix="perfbot-test-")
        server: Any = postgres_server.get_server(Path(root) / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()


async def admin_execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


async def source_metrics(
    store: Any, operation: str | None = None, limit: int = 100
) -> list[Metric]:
    """The newest rows of perfbot.source_metrics (of one operation, or all), newest first, as
    Metric values: what the configured source view reads, invalid names included."""
    async with store.connector.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT operation_type, duration_ms, recorded_at FROM perfbot.source_metrics"
            " WHERE $1::text IS NULL OR operation_type = $1 ORDER BY recorded_at DESC LIMIT $2",
            operation,
            limit,
        )
    return [Metric.model_construct(**dict(r)) for r in rows]

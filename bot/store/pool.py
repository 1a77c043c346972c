"""Connections: resolve the database URL (configured, or the embedded server), open an asyncpg
pool whose sessions run in UTC with JSON codecs, and mask passwords for display."""

import json
import logging
import re
from pathlib import Path
from typing import Any

import asyncpg

from bot import errors
from bot.store import embedded

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 60.0


def resolve_url(database_url: str | None, data_dir: Path | None) -> tuple[str, bool]:
    """The URL to connect to and whether it is the embedded server."""
    if database_url:
        return database_url, False
    return embedded.start(data_dir), True


def mask_url(url: str) -> str:
    """The URL with any password replaced by `***`."""
    masked = re.sub(
        r"(?<=://)([^:/@]*):([^@]*)@",
        lambda m: f"{m.group(1)}:***@" if m.group(2) else m.group(0),
        url,
    )
    return re.sub(r"(?i)(password=)[^&\s]+", r"\1***", masked)


async def _init_connection(conn: "asyncpg.Connection[Any]") -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(conn: "asyncpg.Connection[Any]") -> None:
    """Released connections skip asyncpg's default reset query (a round trip per release).
    asyncpg still rolls back an open transaction and drops client-side listeners first; perfbot
    sets no session state, unlistens explicitly and releases its advisory locks itself."""


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> "asyncpg.Pool[Any]":
    """An asyncpg pool for `url`. Raises DatabaseUnavailable with the masked URL."""
    try:
        pool: asyncpg.Pool[Any] = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=CONNECT_TIMEOUT_S,
            command_timeout=COMMAND_TIMEOUT_S,
            init=_init_connection,
            reset=_keep_session,
            # Plan every execution with its parameters: a generic plan cached while the outbox
            # was small made claims 15x slower once a backlog built up (measured:
            # bench/delivery.py fell from ~800 to ~90 deliveries/s).
            server_settings={
                "timezone": "UTC",
                "application_name": "perfbot",
                "plan_cache_mode": "force_custom_plan",
            },
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise errors.DatabaseUnavailable(f"cannot connect to {mask_url(url)}: {exc}") from exc
    return pool

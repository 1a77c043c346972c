"""Connections: resolve the database URL (configured, or the embedded server) and open an asyncpg
pool whose sessions run in UTC with JSON codecs. Every failure to read or reach the URL is an
error that shows it masked (`bot.config.secrets.mask_url`), never a traceback: a URL the
driver misreads puts pieces of the password into its own error messages."""

import json
import logging
from pathlib import Path
from typing import Any

import asyncpg

from bot import errors
from bot.config.secrets import URL_HINT, mask_url
from bot.excerpt import excerpt
from bot.store import embedded
from bot.store.queries import QUERIES

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 60.0


def resolve_url(database_url: str | None, data_dir: Path | None) -> tuple[str, bool]:
    """The URL to connect to and whether it is the embedded server."""
    if database_url:
        return database_url, False
    return embedded.start(data_dir), True


__all__ = ["create_pool", "mask_url", "resolve_url"]


def _scrubbed(message: str, url: str) -> str:
    """A driver's error message without the URL or its password in it, as an excerpt."""
    password = url.partition("://")[2].rpartition("@")[0].partition(":")[2]
    message = message.replace(url, mask_url(url))
    if password:
        message = message.replace(password, "***")
    return excerpt(message)


async def _init_connection(conn: "asyncpg.Connection[Any]") -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _reset_session(conn: "asyncpg.Connection[Any]") -> None:
    """What a released connection runs instead of asyncpg's default reset (`RESET ALL`,
    `UNLISTEN *`, … in one larger query): asyncpg still rolls back an open transaction and drops
    client-side listeners first; perfbot sets no session state and unlistens explicitly. Its
    advisory locks are transaction locks, but a session lock left by any path (a cancellation
    at the wrong moment, a future caller) must never stay on an idle pooled connection, where
    it would block other replicas and the CLI: release them all, as a backstop."""
    await conn.execute(QUERIES["advisory_unlock_all"])


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> "asyncpg.Pool[Any]":
    """An asyncpg pool for `url`. Raises ConfigError when the driver cannot read the URL and
    DatabaseUnavailable when the server cannot be reached, both with the URL masked."""
    try:
        pool: asyncpg.Pool[Any] = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=CONNECT_TIMEOUT_S,
            command_timeout=COMMAND_TIMEOUT_S,
            init=_init_connection,
            reset=_reset_session,
            # Plan every execution with its parameters: a generic plan cached while the outbox
            # was small made claims 15x slower once a backlog built up (measured:
            # bench/delivery.py fell from ~800 to ~90 deliveries/s).
            server_settings={
                "timezone": "UTC",
                "application_name": "perfbot",
                "plan_cache_mode": "force_custom_plan",
            },
        )
    # `from None` in both: the driver's own exception text may quote pieces of the password,
    # and a chained cause would print it with any traceback
    except (ValueError, OverflowError) as exc:  # asyncpg's ClientConfigurationError too
        raise errors.ConfigError(
            [
                f"database_url: {mask_url(url)} is refused by the driver "
                f"({_scrubbed(str(exc), url) or type(exc).__name__}); {URL_HINT}"
            ]
        ) from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        reason = _scrubbed(str(exc), url) or type(exc).__name__
        raise errors.DatabaseUnavailable(f"cannot connect to {mask_url(url)}: {reason}") from None
    return pool

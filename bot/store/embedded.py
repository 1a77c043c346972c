"""The embedded PostgreSQL server: with no `PERFBOT_DATABASE_URL`, perfbot runs real PostgreSQL
binaries from the `pgserver` wheel in its data directory, so the demo and the bot work on a
machine with nothing else installed."""

import logging
import warnings
from pathlib import Path
from typing import Any

import platformdirs

from bot import errors

logger = logging.getLogger(__name__)


def default_data_dir() -> Path:
    """The platform's per-user data directory for perfbot (e.g. ~/.local/share/perfbot)."""
    return Path(platformdirs.user_data_dir("perfbot", appauthor=False))


def start(data_dir: Path | None) -> str:
    """Start (or join) the embedded server whose cluster lives in `data_dir/pgdata` and return
    its connection URL. The server stops when the last process using it exits."""
    root = (data_dir or default_data_dir()).expanduser().resolve()
    pgdata = root / "pgdata"
    try:
        root.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
            warnings.simplefilter("ignore")
            from pgserver import postgres_server

            server: Any = postgres_server.get_server(pgdata, cleanup_mode="stop")
        url: str = server.get_uri()
    except Exception as exc:  # pgserver raises bare subprocess and OS errors
        raise errors.DatabaseUnavailable(
            f"cannot start the embedded PostgreSQL in {pgdata}: {exc}"
        ) from exc
    logger.info(
        "embedded postgres ready", extra={"action": "embedded_db_started", "pgdata": str(pgdata)}
    )
    return url

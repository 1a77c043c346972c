"""The seen-requests repository: keys of signed chat requests and button clicks already
executed, so that a replay does nothing twice. `remember` is one `INSERT … ON CONFLICT DO
NOTHING`, so among concurrent copies of one request, on any replica, exactly one wins; rows
live until their `expires_at` (the end of the signature window) and the cleanup job deletes
them after (`retention.py`)."""

from datetime import datetime

from bot.store.connector import Connector
from bot.store.queries import QUERIES


class SeenRequestRepository:
    """Seen request keys over one connector."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector

    async def remember(
        self, key: bytes, platform: str, now: datetime, expires_at: datetime
    ) -> bool:
        """Claim `key` (a hash of the request's credential) until `expires_at`: True the first
        time, False for a request seen before."""
        async with self._db.connection() as conn:
            claimed = await conn.fetchval(
                QUERIES["remember_request"], key, platform, now, expires_at
            )
        return claimed is not None

"""The store layer: asyncpg only here. Named SQL in `queries.sql`, schema by numbered
migrations, rows converted into frozen domain models once."""

from bot.store.store import DatabaseStatus, Store

__all__ = ["DatabaseStatus", "Store"]

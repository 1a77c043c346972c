"""The store layer: asyncpg only here. Named SQL in `queries.sql`, schema by numbered
migrations, rows converted into frozen domain models once. `Store` is a facade over one
`Connector` (the pool) with a repository per aggregate: `store.alerts`, `store.deliveries`,
`store.findings`, `store.rollups`, `store.jobs`, `store.metrics` and `store.source`."""

from bot.store.store import DatabaseStatus, Store, TableSize

__all__ = ["DatabaseStatus", "Store", "TableSize"]

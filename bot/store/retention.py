"""The retention repository: deletes rows past their retention one bounded batch at a time.
Each batch is one DELETE of at most `limit` rows, oldest first, in its own transaction, so no
batch holds locks or grows the WAL for long and an interrupted cleanup loses nothing; the
cleanup job (`bot.cleanup`) decides the cut-offs, the batch size and when to stop. Every
foreign key these deletes go through is indexed (migration 0006), so a batch costs time in
proportion to its rows, not to the size of the referencing tables."""

from datetime import datetime

from bot.store.connector import Connector
from bot.store.queries import QUERIES

# The tables retention prunes, each by one named query taking (cut-off, limit), in the order the
# cleanup job visits them: alerts before the anomalies and correlations they take with them,
# rollups before the operations they keep alive.
TABLES: dict[str, str] = {
    "seen_requests": "prune_seen_requests",
    "job_runs": "prune_job_runs",
    "deliveries": "prune_deliveries",
    "alerts": "prune_alerts",
    "alert_events": "prune_unlinked_alert_events",
    "anomalies": "prune_anomalies",
    "correlations": "prune_correlations",
    "silences": "prune_silences",
    "baseline_history": "prune_baseline_history",
    "baselines": "prune_baselines",
    "merges": "prune_merges",
    "metrics": "prune_metrics",
    "rollup_minute": "prune_rollup_minute",
    "rollup_hour": "prune_rollup_hour",
}
# Deleting from these touches the append-only audit trail, which allows it only to retention.
AUDIT_DELETES = frozenset({"alerts", "alert_events"})
BATCH_TIMEOUT_S = 60.0
# The big tables the cleanup vacuums after deleting from them, each by one named query.
VACUUMED: dict[str, str] = {
    "metrics": "vacuum_metrics",
    "rollup_minute": "vacuum_rollup_minute",
    "rollup_hour": "vacuum_rollup_hour",
}


class RetentionRepository:
    """Batched retention deletes over one connector."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector

    async def prune_batch(self, table: str, before: datetime, limit: int) -> int:
        """Delete at most `limit` of `table`'s rows past the cut-off `before` (UTC), oldest
        first, in one transaction; returns how many were deleted (0: the table is done).
        `table` is one of TABLES (ValueError otherwise)."""
        try:
            query = QUERIES[TABLES[table]]
        except KeyError:
            raise ValueError(f"retention does not prune {table!r}") from None
        async with self._db.transaction() as conn:
            if table in AUDIT_DELETES:
                await conn.execute(QUERIES["enable_retention_deletes"])
            status = await conn.execute(query, before, limit, timeout=BATCH_TIMEOUT_S)
        return int(status.split()[-1])

    async def vacuum(self, table: str, timeout_s: float) -> None:
        """Plain VACUUM of `table` (one of VACUUMED, ValueError otherwise), outside any
        transaction, within `timeout_s` (QueryTimeout after it: a cancelled VACUUM loses
        nothing but its own progress)."""
        try:
            query = QUERIES[VACUUMED[table]]
        except KeyError:
            raise ValueError(f"retention does not vacuum {table!r}") from None
        async with self._db.connection() as conn:
            await conn.execute(query, timeout=timeout_s)

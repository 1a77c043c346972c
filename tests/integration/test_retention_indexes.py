"""Retention deletes are index-backed, so their cost grows with the rows deleted, not with the
table: every foreign key that a delete goes through has an index on its referencing column,
and the outbox cleanup of 200,000 deliveries runs in bounded batches none of which scans the
table (counted in pg_stat_xact_user_tables, not timed)."""

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cleanup import Cleanup, Target
from bot.config import Settings
from bot.store import Store
from bot.store.queries import QUERIES

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=60)
DELIVERIES = 200_000
FALLBACK_EVERY = 10  # every 10th delivery is the fallback copy of the one before it
PENDING = 50  # recent unsent deliveries, which cleanup must keep

ALERT_SQL = """
INSERT INTO perfbot.alerts (fingerprint, kind, severity, status, operation_types, title,
                            summary, first_seen, last_seen, plan, created_at, updated_at,
                            resolved_at)
VALUES ('fp', 'anomaly', 'CRITICAL', 'resolved', '{commit}', 't', 's', $1, $1, '{}', $1, $1, $1)
RETURNING id
"""
DELIVERIES_SQL = """
INSERT INTO perfbot.deliveries (alert_id, channel, event, severity, status, max_attempts,
                                next_attempt_at, created_at, sent_at, is_fallback, fallback_of)
SELECT $1, 'hook', 'fired', 'CRITICAL', 'sent', 5, $2::timestamptz + g * interval '1 ms',
       $2::timestamptz + g * interval '1 ms', $2, g % $4::int = 0, NULL
  FROM generate_series(1, $3) AS g
"""
LINK_FALLBACKS_SQL = """
UPDATE perfbot.deliveries SET fallback_of = id - 1 WHERE is_fallback
"""
PENDING_SQL = """
INSERT INTO perfbot.deliveries (alert_id, channel, event, severity, status, max_attempts,
                                next_attempt_at, created_at)
SELECT $1, 'mail', 'fired', 'CRITICAL', 'pending', 5, $2, $2 FROM generate_series(1, $3)
"""
UNINDEXED_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS referencing, a.attname AS column_name,
       c.confrelid::regclass::text AS referenced,
       EXISTS (SELECT 1 FROM pg_index i
                WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1]) AS indexed
  FROM pg_constraint c
  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
 WHERE c.contype = 'f' AND c.connamespace = 'perfbot'::regnamespace
 ORDER BY 1, 2
"""
XACT_SCANS = """
SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables
 WHERE schemaname = 'perfbot' AND relname = 'deliveries'
"""


class StillTimer:
    """A timer that never advances: no batch counts as slow and the budget never runs out, so
    the batch sizes are exactly the configured one."""

    def __call__(self) -> float:
        return 0.0


async def test_every_foreign_key_has_an_index_on_its_referencing_column(store: Store) -> None:
    async with store.connector.pool.acquire() as conn:
        keys = await conn.fetch(UNINDEXED_FOREIGN_KEYS)
    assert len(keys) >= 9  # the audit in migration 0006 lists nine
    assert [
        f"{k['referencing']}.{k['column_name']} → {k['referenced']}"
        for k in keys
        if not k["indexed"]
    ] == []


def plan_nodes(plan: dict[str, Any]) -> list[str]:
    """Every node of an EXPLAIN (FORMAT JSON) plan as 'Node Type on relation'."""
    node = f"{plan['Node Type']} on {plan.get('Relation Name', '-')}"
    return [node] + [n for child in plan.get("Plans", []) for n in plan_nodes(child)]


async def generic_plan(conn: Any, sql: str, *args: Any) -> list[str]:
    """The nodes of the generic plan of `sql` (as PostgreSQL's foreign-key triggers and
    prepared statements run it: parameters unknown to the planner)."""
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    try:
        statement = await conn.prepare(f"EXPLAIN (FORMAT JSON) {sql}")
        [row] = await statement.fetch(*args)
    finally:
        await conn.execute("RESET plan_cache_mode")
    explained = json.loads(row[0]) if isinstance(row[0], str) else row[0]  # the pool's codec
    return plan_nodes(explained[0]["Plan"])


async def seed_outbox(store: Store) -> int:
    async with store.connector.pool.acquire() as conn:
        alert_id: int = await conn.fetchval(ALERT_SQL, NOW)
        await conn.execute(DELIVERIES_SQL, alert_id, OLD, DELIVERIES, FALLBACK_EVERY)
        await conn.execute(LINK_FALLBACKS_SQL)
        await conn.execute(PENDING_SQL, alert_id, NOW, PENDING)
        await conn.execute("ANALYZE perfbot.deliveries")
    return alert_id


async def test_cleanup_of_200000_deliveries_is_batched_and_index_backed(store: Store) -> None:
    await seed_outbox(store)
    settings = Settings.load()
    batch = settings.retention.batch_size
    cutoff = NOW - settings.retention.deliveries
    async with store.connector.pool.acquire() as conn:
        # What a foreign-key trigger runs for each deleted delivery, and has_fallback: both
        # find the referencing rows by index.
        ri = "UPDATE ONLY perfbot.deliveries SET fallback_of = NULL WHERE $1 = fallback_of"
        for sql in (ri, QUERIES["has_fallback"]):
            nodes = await generic_plan(conn, sql, 1)
            assert "Seq Scan on deliveries" not in nodes, (sql, nodes)
        # One batch, counted from inside its transaction: it deletes a full batch and scans
        # the table not once (without the index: one scan per deleted row).
        async with conn.transaction():
            before = await conn.fetchrow(XACT_SCANS)
            status = await conn.execute(QUERIES["prune_deliveries"], cutoff, batch)
            after = await conn.fetchrow(XACT_SCANS)
        assert status == f"DELETE {batch}"
        assert before is not None
        assert after is not None
        assert after["seq_scan"] - before["seq_scan"] == 0
        assert after["idx_scan"] - before["idx_scan"] > 0

    pruned = await Cleanup(store, settings, timer=StillTimer()).prune(
        Target("deliveries", cutoff), deadline=math.inf
    )

    assert pruned.finished
    assert pruned.rows == DELIVERIES - batch
    assert pruned.max_batch_rows == batch  # bounded: no statement deleted more
    assert pruned.batches == math.ceil((DELIVERIES - batch) / batch) + 1  # the last finds none
    async with store.connector.pool.acquire() as conn:
        left = await conn.fetch("SELECT status, count(*) FROM perfbot.deliveries GROUP BY 1")
    assert {r["status"]: r["count"] for r in left} == {"pending": PENDING}

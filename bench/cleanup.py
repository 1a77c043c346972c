"""Outbox cleanup figures against real PostgreSQL: the cleanup job's retention of deliveries
(`bot.cleanup`, batches of `retention.batch_size`) deleting N sent deliveries past their period
(every tenth a fallback copy of the one before, so the self-referencing foreign key is
exercised) from a table that also holds K recent ones it must keep.

Prints: rows deleted, seconds, rows/s, batches, the slowest batch (seconds), and the load
average before and after (the machine is shared: read the figures with it). Target (issue 14):
200,000 deliveries in under 10 s. Usage: ./dev bench cleanup [--deliveries N] [--kept K]"""

import argparse
import asyncio
import math
import os
import time
from datetime import UTC, datetime, timedelta

from common import drop_database, emit, fresh_database, server

from bot.cleanup import Cleanup, Target
from bot.config import Settings
from bot.store import Store

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
FALLBACK_EVERY = 10

ALERT = """
INSERT INTO perfbot.alerts (fingerprint, kind, severity, status, operation_types, title,
                            summary, first_seen, last_seen, plan, created_at, updated_at)
VALUES ('bench', 'anomaly', 'CRITICAL', 'open', '{commit}', 't', 's', $1, $1, '{}', $1, $1)
RETURNING id
"""
DELIVERIES = """
INSERT INTO perfbot.deliveries (alert_id, channel, event, severity, status, max_attempts,
                                next_attempt_at, created_at, sent_at, is_fallback)
SELECT $1, 'hook', 'fired', 'CRITICAL', 'sent', 5, $2::timestamptz + g * interval '1 ms',
       $2::timestamptz + g * interval '1 ms', $2, g % $4::int = 0
  FROM generate_series(1, $3) AS g
"""
LINK = "UPDATE perfbot.deliveries SET fallback_of = id - 1 WHERE is_fallback"


async def seed(store: Store, deleted: int, kept: int) -> None:
    async with store.connector.pool.acquire() as conn:
        alert_id = await conn.fetchval(ALERT, NOW)
        await conn.execute(DELIVERIES, alert_id, NOW - timedelta(days=60), deleted, FALLBACK_EVERY)
        await conn.execute(DELIVERIES, alert_id, NOW - timedelta(days=1), kept, FALLBACK_EVERY)
        await conn.execute(LINK)
        await conn.execute("VACUUM ANALYZE perfbot.deliveries")


async def main(deleted: int, kept: int) -> None:
    settings = Settings.load()
    with server() as server_url:
        url = await fresh_database(server_url)
        try:
            store = await Store.open(url, max_size=2)
            try:
                await seed(store, deleted, kept)
                load_before = os.getloadavg()
                started = time.perf_counter()
                pruned = await Cleanup(store, settings).prune(
                    Target("deliveries", NOW - settings.retention.deliveries), math.inf
                )
                seconds = time.perf_counter() - started
                load_after = os.getloadavg()
            finally:
                await store.close()
        finally:
            await drop_database(server_url, url)
    emit(
        {
            "deliveries_deleted": pruned.rows,
            "deliveries_kept": kept,
            "seconds": round(seconds, 2),
            "rows_per_s": round(pruned.rows / seconds),
            "batches": pruned.batches,
            "batch_size": settings.retention.batch_size,
            "batch_max_s": round(pruned.max_batch_s, 3),
            "target_s": 10,
            "load_avg_1_5_15_before": [round(x, 2) for x in load_before],
            "load_avg_1_5_15_after": [round(x, 2) for x in load_after],
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=200_000, help="old rows to delete")
    parser.add_argument("--kept", type=int, default=200_000, help="recent rows to keep")
    args = parser.parse_args()
    asyncio.run(main(args.deliveries, args.kept))

"""Two `perfbot run` replicas on one database for several detection cycles (detect every 2 s,
escalate every 1 s), with a latency spike to detect and a queue of deliveries to a webhook:
every job slot ran once, each scored minute was scored once, every delivery was sent once,
and both replicas took a share of the jobs and of the deliveries."""

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.models import Severity
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.acceptance.test_alert_pipeline import metrics
from tests.factories import make_new_alert
from tests.fakes.webhook import WebhookReceiver
from tests.polling import eventually

REPLICAS = ("replica-a", "replica-b")
QUEUED = 400
DETECT_CYCLES = 6


def config(hook_url: str) -> dict:
    return {
        "detection": {"interval": "2s", "settle": "1s"},
        "schedules": {"escalate": "1s"},
        "channels": {"hook": {"type": "webhook", "url": hook_url}},
        "routes": [{"name": "all", "notify": ["hook"]}],
        "delivery": {"concurrency": 4, "lease": "20s", "rate_limits": {}},
        "log_level": "DEBUG",  # idle runs ("job done" with no rows) are debug lines
    }


async def seed_spike(store: Store) -> None:
    """Three hours of minute-aligned history of two operations, commit spiking for the last
    minutes (as in test_alert_pipeline)."""
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = minute - timedelta(hours=3), minute + timedelta(minutes=3)
    await store.metrics.add(
        metrics("commit", start, end, 5.0, minute - timedelta(minutes=2), 1)
        + metrics("get_history", start, end, 12.0, minute + timedelta(days=1), 2)
    )


async def queue_deliveries(store: Store, n: int) -> None:
    now = datetime.now(UTC)
    async with store.alerts.transaction() as tx:
        for i in range(n):
            alert = await tx.insert_alert(
                make_new_alert(fingerprint=f"anomaly:queued{i}", operation_types=(f"queued{i}",))
            )
            await tx.enqueue(alert.id, "hook", "fired", Severity.WARNING, now=now, max_attempts=5)


async def fetch(store: Store, sql: str, *args: object) -> list[dict]:
    async with store.connector.pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


def count(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text))


async def test_two_replicas_run_every_slot_and_send_every_delivery_once(
    store: Store, db_url: str, webhook_receiver: WebhookReceiver, tmp_path: Path
) -> None:
    await seed_spike(store)
    webhook_receiver.delay = 0.02
    settings = config(webhook_receiver.hook_url)
    bots = [PerfbotProcess(db_url, tmp_path, settings, name=name) for name in REPLICAS]
    await asyncio.gather(*(bot.start() for bot in bots))
    try:
        both_up = datetime.now(UTC)
        await queue_deliveries(store, QUEUED)

        async def queue_empty() -> bool:
            stats = await store.deliveries.stats(datetime.now(UTC))
            return stats.pending == stats.sending == stats.dead == 0

        async def cycles_done() -> bool:
            rows = await fetch(
                store,
                "SELECT count(*) AS n FROM perfbot.job_runs"
                " WHERE job = 'detect' AND status = 'success' AND slot >= $1",
                both_up,
            )
            return int(rows[0]["n"]) >= DETECT_CYCLES

        await eventually(cycles_done, within=60)
        await eventually(queue_empty, within=60)
        codes = await asyncio.gather(*(bot.stop() for bot in bots))
    finally:
        for bot in bots:
            if bot.process is not None and bot.process.returncode is None:
                await bot.kill()
    outputs = {bot.config_path.stem: bot.output() for bot in bots}
    assert codes == [0, 0], outputs

    runs = await fetch(store, "SELECT job, slot, owner, status FROM perfbot.job_runs")
    per_slot = Counter((r["job"], r["slot"]) for r in runs)
    assert max(per_slot.values()) == 1
    # Every run a replica logged as done is one recorded row: no slot ran unrecorded twice.
    logged = sum(count(r"job done \[action=job_done job=detect ", o) for o in outputs.values())
    assert logged == sum(1 for r in runs if r["job"] == "detect" and r["status"] == "success")
    detect_owner = Counter(r["owner"] for r in runs if r["job"] == "detect")
    escalate_owner = Counter(r["owner"] for r in runs if r["job"] == "escalate")
    assert not [r for r in runs if r["status"] == "failed"], runs

    scored = await fetch(
        store,
        "SELECT operation_type, kind, window_start, count(*) AS n FROM perfbot.anomalies"
        " GROUP BY 1, 2, 3 HAVING count(*) > 1",
    )
    assert scored == [], "a minute was scored twice"

    deliveries = await fetch(store, "SELECT id, status FROM perfbot.deliveries")
    assert {d["status"] for d in deliveries} == {"sent"}
    received = Counter(c.headers.get("X-Perfbot-Delivery") for c in webhook_receiver.calls)
    assert set(received) == {str(d["id"]) for d in deliveries}, "a delivery was lost"
    assert max(received.values()) == 1, "a delivery was sent twice"
    assert len(deliveries) > QUEUED  # the spike's alert went out too
    sent_by = {name: count(r"action=delivery_sent\b", o) for name, o in outputs.items()}
    assert sum(sent_by.values()) == len(deliveries)

    print(
        f"\nreplicas: {len(deliveries)} deliveries sent once each, shares {sent_by}; "
        f"detect slots {dict(detect_owner)}, escalate slots {dict(escalate_owner)}, "
        f"{len(runs)} job runs, no slot twice"
    )
    assert all(n > 0 for n in sent_by.values()), sent_by
    assert set(detect_owner) | set(escalate_owner) == set(REPLICAS)

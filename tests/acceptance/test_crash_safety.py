"""`perfbot run` killed with SIGKILL while 1,000 alerts are queued and the receiver is slow:
after a restart every alert is delivered (lost = 0) and duplicates are at most the number of
deliveries in flight at the kill."""

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.models import Severity
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.factories import make_new_alert
from tests.fakes.webhook import WebhookReceiver
from tests.polling import eventually

ALERTS = 1000


async def test_sigkill_loses_nothing(
    store: Store, db_url: str, webhook_receiver: WebhookReceiver, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    async with store.alerts.transaction() as tx:
        for i in range(ALERTS):
            alert = await tx.insert_alert(
                make_new_alert(fingerprint=f"anomaly:op{i}", operation_types=(f"op{i}",))
            )
            await tx.enqueue(alert.id, "hook", "fired", Severity.WARNING, now=now, max_attempts=5)
    webhook_receiver.delay = 0.05
    config = {
        "channels": {"hook": {"type": "webhook", "url": webhook_receiver.hook_url}},
        "delivery": {"concurrency": 16, "lease": "3s", "rate_limits": {}},
    }

    def delivered() -> Counter[str]:
        return Counter(c.headers.get("X-Perfbot-Delivery", "?") for c in webhook_receiver.calls)

    first = await PerfbotProcess(db_url, tmp_path, config, name="first").start()
    await eventually(lambda: _at_least(webhook_receiver, 200), within=60)
    await first.kill()
    stats = await store.deliveries.stats(datetime.now(UTC))
    in_flight = stats.sending
    received_at_kill = len(webhook_receiver.calls)
    assert 0 < received_at_kill < ALERTS

    async with PerfbotProcess(db_url, tmp_path, config, name="second"):
        await eventually(lambda: _all_sent(store), within=120)
    counts = delivered()
    assert len(counts) == ALERTS, "lost deliveries"
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\ncrash safety: {ALERTS} queued, {received_at_kill} received before SIGKILL, "
        f"{in_flight} in flight at the kill, lost 0, duplicates {duplicates}"
    )
    assert duplicates <= in_flight


async def _at_least(receiver: WebhookReceiver, n: int) -> bool:
    return len(receiver.calls) >= n


async def _all_sent(store: Store) -> bool:
    stats = await store.deliveries.stats(datetime.now(UTC))
    return stats.pending == 0 and stats.sending == 0 and stats.dead == 0

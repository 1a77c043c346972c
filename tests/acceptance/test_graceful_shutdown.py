"""SIGTERM: in-flight deliveries finish (bounded), unsent claims are released, exit code 0."""

from datetime import UTC, datetime
from pathlib import Path

from bot.models import Severity
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.factories import make_new_alert
from tests.fakes.webhook import WebhookReceiver
from tests.polling import eventually


async def test_sigterm_finishes_in_flight_work_and_exits_0(
    store: Store, db_url: str, webhook_receiver: WebhookReceiver, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    async with store.alerts.transaction() as tx:
        for i in range(200):
            alert = await tx.insert_alert(
                make_new_alert(fingerprint=f"anomaly:op{i}", operation_types=(f"op{i}",))
            )
            await tx.enqueue(alert.id, "hook", "fired", Severity.WARNING, now=now, max_attempts=5)
    webhook_receiver.delay = 0.3
    config = {
        "channels": {"hook": {"type": "webhook", "url": webhook_receiver.hook_url}},
        "delivery": {"concurrency": 8, "rate_limits": {}},
    }
    bot = await PerfbotProcess(db_url, tmp_path, config).start()

    async def some_received() -> bool:
        return len(webhook_receiver.calls) >= 20

    await eventually(some_received, within=60)
    assert await bot.stop(within=20) == 0, bot.output()
    stats = await store.deliveries.stats(datetime.now(UTC))
    sent = 200 - stats.pending - stats.sending - stats.dead
    assert stats.sending == 0
    assert stats.pending > 0  # it stopped early: the rest waits for the next start
    assert sent == len(webhook_receiver.calls)  # every request it made was answered and recorded
    assert stats.dead == 0
    assert "shutting down" in bot.output()

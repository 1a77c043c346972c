"""The delivery worker puts the `links:` rules' links on each notification it sends: a webhook
receiver on loopback gets the alert's runbook with the operation substituted."""

import json
import random
from datetime import timedelta

from bot.clock import SystemClock
from bot.config import DeliverySettings
from bot.delivery import DeliveryWorker
from bot.models import DeliveryStatus, Severity
from bot.notify.webhook import WebhookNotifier
from bot.routing.links import Link, LinkRule
from bot.routing.rules import Match
from bot.store import Store
from tests.factories import make_new_alert
from tests.fakes.webhook import WebhookReceiver
from tests.polling import eventually

RULES = (
    LinkRule(Match(operation=("merge*",)), (Link("Merges", "https://g.example/d/m"),)),
    LinkRule(Match(), (Link("Runbook", "https://wiki.example/rb/{operation}?id={alert_id}"),)),
)


async def test_links_reach_the_channel(store: Store, webhook_receiver: WebhookReceiver) -> None:
    async with store.alerts.transaction() as tx:
        alert = await tx.insert_alert(
            make_new_alert(fingerprint="anomaly:commit", operation_types=("commit",))
        )
        await tx.enqueue(
            alert.id, "hook", "fired", Severity.WARNING, now=SystemClock().now(), max_attempts=2
        )
    hook = WebhookNotifier("hook", url=webhook_receiver.hook_url, secret=None, timeout=2.0)
    worker = DeliveryWorker(
        store,
        {"hook": hook},
        {"hook": "webhook"},
        DeliverySettings(rate_limits={}, backoff_base=timedelta(milliseconds=50)),
        SystemClock(),
        "w1",
        rng=random.Random(1),
        links=RULES,
    )
    try:
        while await worker.run_once():
            pass

        async def sent() -> bool:
            return [d.status for d in await store.deliveries.for_alert(alert.id)] == [
                DeliveryStatus.SENT
            ]

        await eventually(sent)
    finally:
        await worker.drain()
        await hook.aclose()
    (call,) = webhook_receiver.calls
    assert json.loads(call.body)["links"] == [
        {"label": "Runbook", "url": f"https://wiki.example/rb/commit?id={alert.id}"}
    ]

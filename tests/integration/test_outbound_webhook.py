"""The webhook channel through the outbox worker and real PostgreSQL: a hostile receiver's
error body reaches `deliveries.last_error` and the log only as a short, clean excerpt; a
redirect makes the delivery dead without being followed; every retry of a delivery carries the
same delivery id and verifies with the README's recipe."""

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import SystemClock
from bot.config import DeliverySettings
from bot.delivery import DeliveryWorker
from bot.models import DeliveryStatus, Severity
from bot.notify.webhook import WebhookNotifier
from bot.store import Store
from tests.factories import make_new_alert
from tests.fakes.webhook import WebhookReceiver, readme_recipe
from tests.polling import eventually

FAST = DeliverySettings(
    max_attempts=3,
    backoff_base=timedelta(milliseconds=50),
    backoff_max=timedelta(milliseconds=100),
    lease=timedelta(seconds=2),
    rate_limits={},
    breaker_failures=50,
)
FORGED = (
    "boom\n2026-11-27T06:00:00.000Z INFO    bot.delivery: delivered [action=delivery_sent]"
    "\x1b[2J\x1b]0;pwned\x07" + "X" * 100_000
)


@pytest.fixture
async def hook(webhook_receiver: WebhookReceiver) -> AsyncIterator[WebhookNotifier]:
    notifier = WebhookNotifier(
        "hook", url=webhook_receiver.hook_url, secret="hook-secret", timeout=5
    )
    yield notifier
    await notifier.aclose()


async def deliver(store: Store, hook: WebhookNotifier, stop_when) -> int:
    """Queue one `fired` delivery for a new alert, run a worker until `stop_when(delivery)`
    holds, and return the alert id."""
    async with store.alerts.transaction() as tx:
        alert = await tx.insert_alert(
            make_new_alert(fingerprint="anomaly:op", severity=Severity.WARNING)
        )
        await tx.enqueue(
            alert.id, "hook", "fired", Severity.WARNING, now=SystemClock().now(), max_attempts=3
        )
    worker = DeliveryWorker(
        store, {"hook": hook}, {"hook": "webhook"}, FAST, SystemClock(), "w1", rng=random.Random(1)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:

        async def done() -> bool:
            found = await store.deliveries.for_alert(alert.id)
            return bool(found) and stop_when(found[0])

        await eventually(done, within=15)
    finally:
        stop.set()
        await task
    return alert.id


async def test_a_hostile_error_body_is_stored_and_logged_as_a_clean_excerpt(
    store: Store, webhook_receiver: WebhookReceiver, hook: WebhookNotifier, caplog
) -> None:
    webhook_receiver.fail(500, times=10, body=FORGED)
    caplog.set_level(logging.INFO, logger="bot.delivery")
    alert_id = await deliver(store, hook, lambda d: d.status is DeliveryStatus.DEAD)
    [d] = await store.deliveries.for_alert(alert_id)
    assert d.last_error is not None
    assert d.last_error.isprintable()
    assert "boom 2026-11-27T06:00:00.000Z INFO bot.delivery: delivered" in d.last_error
    assert len(d.last_error) < 260  # "hook: HTTP 500: " + 200 characters + what perfbot adds
    logged = [r for r in caplog.records if getattr(r, "action", "").startswith("delivery_")]
    assert logged
    for record in logged:
        for value in (getattr(record, "reason", None), getattr(record, "error", None)):
            assert value is None or (str(value).isprintable() and len(str(value)) < 260)


async def test_a_redirect_kills_the_delivery_without_following_it(
    store: Store, webhook_receiver: WebhookReceiver, hook: WebhookNotifier
) -> None:
    async with WebhookReceiver() as internal:
        webhook_receiver.fail(302, headers={"Location": f"{internal.url}/internal/admin"})
        alert_id = await deliver(store, hook, lambda d: d.status is DeliveryStatus.DEAD)
        assert internal.calls == []
    [d] = await store.deliveries.for_alert(alert_id)
    assert (d.attempts, d.last_status) == (1, 302)
    assert d.last_error is not None
    assert "redirect to 127.0.0.1:" in d.last_error
    assert "not followed" in d.last_error
    assert "/internal" not in d.last_error


async def test_every_retry_carries_the_delivery_id_and_verifies_once(
    store: Store, webhook_receiver: WebhookReceiver, hook: WebhookNotifier
) -> None:
    webhook_receiver.fail(503, times=2)
    await deliver(store, hook, lambda d: d.status is DeliveryStatus.SENT)
    attempts = webhook_receiver.faulted + webhook_receiver.calls
    assert len(attempts) == 3
    [delivery_id] = {c.headers["X-Perfbot-Delivery"] for c in attempts}
    perfbot_delivery, _ = readme_recipe()
    seen: set[str] = set()
    verdicts = [
        perfbot_delivery("hook-secret", c.headers, c.body, seen, now=c.at) for c in attempts
    ]
    assert verdicts == [delivery_id, None, None]

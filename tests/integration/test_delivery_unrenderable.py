"""A delivery that cannot be rendered is that delivery's problem: the outbox worker with the
real email notifier and SMTP server, and the email renderer as it was before names were
escaped (a title with a line break made every render raise). Each such delivery is dead at
once with the reason; the email circuit never opens, and real CRITICAL mails queued with them
and after them go out at once."""

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import SystemClock
from bot.config import DeliverySettings, EmailSettings
from bot.delivery import DeliveryWorker
from bot.models import Delivery, DeliveryStatus, Severity
from bot.notify import Notification, email_render
from bot.notify.email import EmailNotifier
from bot.store import Store
from tests.factories import make_new_alert
from tests.fakes.smtp import SmtpServer
from tests.polling import eventually

SETTINGS = DeliverySettings(
    max_attempts=5,
    backoff_base=timedelta(milliseconds=50),
    backoff_max=timedelta(milliseconds=200),
    lease=timedelta(seconds=5),
    rate_limits={},
    breaker_failures=2,
    breaker_cooldown=timedelta(minutes=5),  # an opened circuit would hold mail for minutes
)


def unescaped_subject(notification: Notification) -> str:
    """The Subject as it was built before `escape.email_header`: the title as it is."""
    alert = notification.alert
    return f"[{alert.severity.value}] perfbot: {alert.title} (#{alert.id})"


async def queue(store: Store, title: str, n: int) -> list[int]:
    ids: list[int] = []
    now = SystemClock().now()
    async with store.alerts.transaction() as tx:
        for _ in range(n):
            alert = await tx.insert_alert(
                make_new_alert(
                    fingerprint=f"anomaly:{title}:{len(ids)}:{now.timestamp()}",
                    title=title,
                    severity=Severity.CRITICAL,
                    first_seen=now,
                    last_seen=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            ids.append(alert.id)
            await tx.enqueue(alert.id, "email", "fired", Severity.CRITICAL, now=now, max_attempts=5)
    return ids


async def rows(store: Store, alert_ids: list[int]) -> list[Delivery]:
    return [d for a in alert_ids for d in await store.deliveries.for_alert(a)]


@pytest.fixture
async def email_worker(store: Store, smtp_server: SmtpServer) -> AsyncIterator[DeliveryWorker]:
    notifier = EmailNotifier(
        "email",
        EmailSettings(host=smtp_server.host, port=smtp_server.port, **{"from": "bot@perfbot.test"}),
        ["oncall@perfbot.test"],
        timeout=5.0,
    )
    worker = DeliveryWorker(
        store,
        {"email": notifier},
        {"email": "email"},
        SETTINGS,
        SystemClock(),
        "w1",
        rng=random.Random(1),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    yield worker
    stop.set()
    await task


async def test_unrenderable_mails_are_dead_and_real_criticals_still_go_out(
    store: Store,
    smtp_server: SmtpServer,
    email_worker: DeliveryWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(email_render, "subject", unescaped_subject)
    poison = await queue(store, "commit\nBcc: victim@example.com latency anomaly", 4)
    real = await queue(store, "checkout latency anomaly", 2)  # in the same batches

    async def settled() -> bool:
        return all(d.status is DeliveryStatus.DEAD for d in await rows(store, poison)) and all(
            d.status is DeliveryStatus.SENT for d in await rows(store, real)
        )

    await eventually(settled, within=15)
    for dead in await rows(store, poison):
        assert dead.attempts == 1  # never retried
        assert dead.last_error is not None
        assert dead.last_error.startswith("cannot render the message: ValueError: Header values")
    assert email_worker.health().get("email", {"state": "closed"})["state"] == "closed"
    assert email_worker.outcomes[("email", "dead")] == len(poison)

    later = await queue(store, "merge latency anomaly", 1)  # the next real CRITICAL

    async def delivered() -> bool:
        return all(d.status is DeliveryStatus.SENT for d in await rows(store, later))

    await eventually(delivered, within=10)  # at once, not after a 5-minute cooldown
    subjects = [str(m.message["Subject"]) for m in smtp_server.received]
    assert len(subjects) == len(real) + len(later)
    assert all("Bcc" not in s for s in subjects)

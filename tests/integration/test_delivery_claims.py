"""A worker whose lease expired mid-send (an event-loop stall, a slow destination) and whose row
another worker retook and sent: when its send finally ends, its outcome is refused, logged and
counted, and the new claimant's outcome stands."""

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from bot.clock import SystemClock
from bot.config import DeliverySettings
from bot.delivery import DeliveryWorker
from bot.errors import NotifyError
from bot.metrics import Metrics
from bot.models import DeliveryStatus, Severity
from bot.notify import MessageRef, Notification
from bot.store import Store
from bot.store.deliveries import Claim
from tests.factories import make_new_alert
from tests.polling import eventually


@dataclass
class GatedChannel:
    """Signals `entered` when a send starts, then waits for `release` and answers HTTP 503."""

    channel: str = "hook"
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0

    async def send(self, notification: Notification) -> MessageRef | None:
        self.calls += 1
        self.entered.set()
        await self.release.wait()
        raise NotifyError("hook", "HTTP 503", status=503)

    async def aclose(self) -> None:
        return None


# A lease of zero: expired the moment it is taken (on the database's clock), as after a stall.
STALLING = DeliverySettings(
    max_attempts=5,
    lease=timedelta(0),
    concurrency=1,  # the stalled send holds the only slot: the worker claims nothing else
    rate_limits={},
    timeout=timedelta(seconds=10),
)


async def test_a_stale_worker_finishing_after_its_lease_was_retaken_changes_nothing(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.delivery")
    async with store.alerts.transaction() as tx:
        alert = await tx.insert_alert(make_new_alert(severity=Severity.CRITICAL))
        await tx.enqueue(
            alert.id, "hook", "fired", Severity.CRITICAL, now=SystemClock().now(), max_attempts=5
        )
    hook = GatedChannel()
    metrics = Metrics()
    stale = DeliveryWorker(
        store,
        {"hook": hook},
        {"hook": "webhook"},
        STALLING,
        SystemClock(),
        "stale",
        rng=random.Random(1),
        metrics=metrics,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(stale.run(stop))
    try:
        await asyncio.wait_for(hook.entered.wait(), timeout=10)
        # Meanwhile another worker retakes the expired claim and delivers.
        now = SystemClock().now()
        [retaken] = await store.deliveries.claim("fresh", now, 10, timedelta(minutes=1))
        assert retaken.attempts == 2
        assert await store.deliveries.sent(Claim.of(retaken, "fresh"), now, 200)
        hook.release.set()  # the stale send ends: HTTP 503, which would be a retry

        def lost() -> float:
            return metrics.registry.get_sample_value("perfbot_delivery_claims_lost_total") or 0.0

        async def counted() -> bool:
            return lost() == 1.0

        await eventually(counted)
    finally:
        stop.set()
        await task
    [row] = await store.deliveries.for_alert(alert.id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (
        DeliveryStatus.SENT,
        2,
        now,
        None,
    )
    assert hook.calls == 1
    assert stale.outcomes == {}  # the refused retry is not counted as one
    [warning] = [r for r in caplog.records if getattr(r, "action", "") == "delivery_claim_lost"]
    assert warning.levelno == logging.WARNING
    assert (getattr(warning, "delivery_id", None), getattr(warning, "worker", None)) == (
        row.id,
        "stale",
    )

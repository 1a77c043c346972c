"""Applies what an attempt led to (a decision of `bot.routing.attempt`): the delivery's outbox
row, the outcome count and metric, the log line, and the CRITICAL's copy on the fallback
channel (queued once per delivery)."""

import logging
from collections import Counter
from datetime import datetime

from bot.clock import Clock
from bot.metrics import Metrics
from bot.models import Delivery
from bot.notify import MessageRef
from bot.routing import attempt
from bot.store import Store

# Every delivery log line keeps the logger name it had when the worker was one module.
logger = logging.getLogger("bot.delivery")


class Recorder:
    def __init__(
        self, store: Store, clock: Clock, max_attempts: int, metrics: Metrics | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._max_attempts = max_attempts  # of a fallback copy
        self._metrics = metrics
        self.outcomes: Counter[tuple[str, str]] = Counter()  # (channel, outcome) → count

    async def record(
        self,
        delivery: Delivery,
        decision: attempt.Sent | attempt.Retry | attempt.Defer | attempt.Dead,
        now: datetime,
        ref: MessageRef | None = None,
    ) -> None:
        """Store `decision` about `delivery`, made at `now`; `ref` is the sent message's."""
        if isinstance(decision, attempt.Sent):
            await self._sent(delivery, now, ref)
        elif isinstance(decision, attempt.Retry):
            await self._retry(delivery, decision)
        elif isinstance(decision, attempt.Defer):
            await self._store.deliveries.defer(delivery.id, decision.at, decision.error)
            self._count(delivery.channel, decision.outcome)
        else:
            await self._dead(delivery, decision)
        if isinstance(decision, attempt.Defer | attempt.Dead) and decision.fallback is not None:
            await self._fallback(delivery, decision.fallback)

    async def _sent(self, delivery: Delivery, now: datetime, ref: MessageRef | None) -> None:
        if ref is not None:
            await self._store.alerts.save_message_ref(delivery.alert_id, delivery.channel, ref, now)
        await self._store.deliveries.sent(delivery.id, now, None)
        self._count(delivery.channel, attempt.Sent.outcome)
        logger.info(
            "delivered",
            extra={
                "action": "delivery_sent",
                "delivery_id": delivery.id,
                "alert_id": delivery.alert_id,
                "channel": delivery.channel,
                "event": delivery.event,
                "attempt": delivery.attempts,
            },
        )

    async def _retry(self, delivery: Delivery, decision: attempt.Retry) -> None:
        await self._store.deliveries.retry(
            delivery.id, decision.at, decision.error, decision.status
        )
        self._count(delivery.channel, decision.outcome)
        logger.warning(
            "delivery failed; will retry",
            extra={
                "action": "delivery_retry",
                "delivery_id": delivery.id,
                "channel": delivery.channel,
                "status": decision.status,
                "reason": decision.cause,
                "retry_at": decision.at.isoformat(),
            },
        )

    async def _dead(self, delivery: Delivery, decision: attempt.Dead) -> None:
        await self._store.deliveries.dead(delivery.id, decision.error, decision.status)
        self._count(delivery.channel, decision.outcome)
        logger.error(
            "delivery dead",
            extra={
                "action": "delivery_dead",
                "delivery_id": delivery.id,
                "alert_id": delivery.alert_id,
                "channel": delivery.channel,
                "status": decision.status,
                "reason": decision.error,
            },
        )

    async def _fallback(self, delivery: Delivery, fallback: attempt.Fallback) -> None:
        """Queue one copy of `delivery` on the fallback channel, unless one is queued already."""
        if await self._store.deliveries.has_fallback(delivery.id):
            return
        async with self._store.alerts.transaction() as tx:
            await tx.enqueue(
                delivery.alert_id,
                fallback.channel,
                delivery.event,
                delivery.severity,
                now=self._clock.now(),
                max_attempts=self._max_attempts,
                mention=delivery.mention,
                is_fallback=True,
                fallback_of=delivery.id,
            )
        logger.warning(
            "critical sent to fallback",
            extra={
                "action": "delivery_fallback",
                "delivery_id": delivery.id,
                "channel": delivery.channel,
                "fallback": fallback.channel,
                "reason": fallback.reason,
            },
        )

    def _count(self, channel: str, outcome: str) -> None:
        self.outcomes[(channel, outcome)] += 1
        if self._metrics is not None:
            self._metrics.deliveries.labels(channel, outcome).inc()

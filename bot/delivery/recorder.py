"""Applies what an attempt led to (a decision of `bot.routing.attempt`): the delivery's outbox
row, the outcome count and metric, the log line, and the CRITICAL's copy on the fallback
channel (queued once per delivery).

Every outcome write holds only under the worker's claim on the row. A claim lost meanwhile (the
lease expired mid-send, e.g. in an event-loop stall, and another worker retook the row) changes
nothing: the new claimant's outcome stands; the loss is logged (`delivery_claim_lost`) and
counted (`perfbot_delivery_claims_lost_total`), and no fallback copy is queued for it."""

import logging
from collections import Counter
from datetime import datetime

from bot.clock import Clock
from bot.metrics import Metrics
from bot.models import Delivery
from bot.notify import MessageRef
from bot.routing import attempt
from bot.store import Store
from bot.store.deliveries import Claim

# Every delivery log line keeps the logger name it had when the worker was one module.
logger = logging.getLogger("bot.delivery")


class Recorder:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        max_attempts: int,
        metrics: Metrics | None = None,
        *,
        worker: str,
    ) -> None:
        self._store = store
        self._clock = clock
        self._max_attempts = max_attempts  # of a fallback copy
        self._metrics = metrics
        self._worker = worker  # whose claims the outcomes are written under
        self.outcomes: Counter[tuple[str, str]] = Counter()  # (channel, outcome) → count
        self.claims_lost = 0

    async def record(
        self,
        delivery: Delivery,
        decision: attempt.Sent | attempt.Retry | attempt.Defer | attempt.Dead,
        now: datetime,
        ref: MessageRef | None = None,
    ) -> bool:
        """Store `decision` about `delivery`, made at `now`; `ref` is the sent message's. Returns
        False, having changed nothing, when this worker's claim on the row was lost."""
        claim = Claim.of(delivery, self._worker)
        if isinstance(decision, attempt.Sent):
            held = await self._sent(delivery, claim, now, ref)
        elif isinstance(decision, attempt.Retry):
            held = await self._retry(delivery, claim, decision)
        elif isinstance(decision, attempt.Defer):
            held = await self._store.deliveries.defer(claim, decision.at, decision.error)
            if held:
                self._count(delivery.channel, decision.outcome)
        else:
            held = await self._dead(delivery, claim, decision)
        if not held:
            self._lost(delivery, decision)
            return False
        if isinstance(decision, attempt.Defer | attempt.Dead) and decision.fallback is not None:
            await self._fallback(delivery, decision.fallback)
        return True

    def _lost(
        self,
        delivery: Delivery,
        decision: attempt.Sent | attempt.Retry | attempt.Defer | attempt.Dead,
    ) -> None:
        self.claims_lost += 1
        if self._metrics is not None:
            self._metrics.claims_lost.inc()
        logger.warning(
            "claim lost: another worker owns the delivery now; this outcome is not recorded",
            extra={
                "action": "delivery_claim_lost",
                "delivery_id": delivery.id,
                "alert_id": delivery.alert_id,
                "channel": delivery.channel,
                "attempt": delivery.attempts,
                "worker": self._worker,
                "outcome": decision.outcome,
            },
        )

    async def _sent(
        self, delivery: Delivery, claim: Claim, now: datetime, ref: MessageRef | None
    ) -> bool:
        if ref is not None:
            # The message exists whoever records the outcome: later events edit it in place.
            await self._store.alerts.save_message_ref(delivery.alert_id, delivery.channel, ref, now)
        if not await self._store.deliveries.sent(claim, now, None):
            return False
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
        return True

    async def _retry(self, delivery: Delivery, claim: Claim, decision: attempt.Retry) -> bool:
        if not await self._store.deliveries.retry(
            claim, decision.at, decision.error, decision.status
        ):
            return False
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
        return True

    async def _dead(self, delivery: Delivery, claim: Claim, decision: attempt.Dead) -> bool:
        if not await self._store.deliveries.dead(claim, decision.error, decision.status):
            return False
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
        return True

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

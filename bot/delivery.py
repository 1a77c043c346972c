"""The outbox worker: claims due deliveries, sends each through its channel's `Notifier`, and
records the outcome. Nothing is dropped: a failure is retried with jittered exponential backoff
(never sooner than a `Retry-After`), a permanent failure or exhausted attempts leave a visible
dead row, and a CRITICAL that cannot get through also goes to `delivery.fallback`.

Rate limits and circuit breakers are per destination (channel) and per process. A delivery held
back by either, answered 429, or failing while the destination's circuit is open is deferred
without using up an attempt: a 429 storm or an outage longer than the backoff horizon delays
alerts but ends with everything delivered, in order per alert and channel (CRITICALs also reach
the fallback meanwhile). Attempts run out only for a message that keeps failing while its
destination otherwise works."""

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import errors
from bot.clock import Clock
from bot.config import DeliverySettings, build
from bot.metrics import Metrics
from bot.models import Alert, Delivery, Severity
from bot.notify import LatencySeries, MessageRef, Notification, Notifier
from bot.routing import backoff
from bot.routing.breaker import Breaker
from bot.routing.ratelimit import RateLimiter
from bot.store import Store

logger = logging.getLogger(__name__)

SeriesProvider = Callable[[Alert], Awaitable[LatencySeries | None]]
IDLE_POLL_S = 5.0
SERIES_CHANNELS = frozenset({"slack", "mattermost", "email", "console"})  # show sparkline/chart
BLOCKED_POLL_S = 0.25


@dataclass(frozen=True)
class _Prepared:
    """What a delivery needs from the database, fetched for the whole claimed batch at once."""

    alert: Alert | None
    ref: MessageRef | None


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        notifiers: Mapping[str, Notifier],
        channel_types: Mapping[str, str],
        settings: DeliverySettings,
        clock: Clock,
        worker_id: str,
        *,
        rng: random.Random | None = None,
        series: SeriesProvider | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._notifiers = notifiers
        self._types = channel_types
        self._settings = settings
        self._clock = clock
        self.worker_id = worker_id
        self._rng = rng or random.Random()
        self._series = series
        self._metrics = metrics
        self._policy = build.retry_policy(settings)
        self._limiters = {
            kind: RateLimiter(rate, settings.burst)
            for kind, rate in settings.rate_limits.items()
            if rate > 0
        }
        self._breakers: dict[str, Breaker] = {}
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self.outcomes: Counter[tuple[str, str]] = Counter()  # (channel, outcome) → count

    # ---- loop -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; then finish in-flight sends (bounded) and hand back
        unsent claims."""
        listener = None
        try:
            while not stop.is_set():
                if listener is not None and not listener.is_alive():
                    await listener.close()
                    listener = None
                if listener is None:
                    listener = await self._listen()
                try:
                    worked = await self.run_once()
                except errors.DatabaseUnavailable as exc:
                    logger.warning(
                        "outbox unavailable",
                        extra={"action": "delivery_db_unavailable", "error": exc.message},
                    )
                    worked = False
                if not worked:
                    await self._idle(stop)
        finally:
            await self.drain()
            if listener is not None:
                await listener.close()
            try:
                released = await self._store.release_deliveries(self.worker_id)
                if released:
                    logger.info(
                        "claims released", extra={"action": "delivery_released", "count": released}
                    )
            except errors.DatabaseUnavailable:
                logger.warning(
                    "claims not released; their leases will expire",
                    extra={"action": "delivery_release_failed"},
                )

    async def _listen(self) -> Any:
        try:
            return await self._store.listen_deliveries(self._wake.set)
        except errors.DatabaseUnavailable:
            return None

    async def _idle(self, stop: asyncio.Event) -> None:
        """Sleep until woken by NOTIFY, the next due delivery, or the poll interval."""
        timeout = IDLE_POLL_S
        try:
            due = await self._store.next_delivery_due()
        except errors.DatabaseUnavailable:
            due = None
        if due is not None:
            ahead = (due - self._clock.now()).total_seconds()
            # A row already due but not claimable waits behind an earlier message of its alert;
            # our own sends wake us when they finish, another worker's within BLOCKED_POLL_S.
            timeout = min(timeout, ahead if ahead > 0 else BLOCKED_POLL_S)
        stopping = asyncio.ensure_future(stop.wait())
        waking = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait(
                {stopping, waking}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopping.cancel()
            waking.cancel()

    async def run_once(self) -> bool:
        """Claim one batch and start sending it; True if anything was claimed (or all send
        slots are busy)."""
        self._wake.clear()  # completions and NOTIFYs from here on wake the next idle wait
        free = self._settings.concurrency - len(self._inflight)
        if free <= 0:
            await asyncio.wait(set(self._inflight), return_when=asyncio.FIRST_COMPLETED)
            return True
        now = self._clock.now()
        batch = await self._store.claim_deliveries(
            self.worker_id, now, free, now + self._settings.lease
        )
        if not batch:
            return False
        # One round trip each for the whole batch's alerts and message references.
        alert_ids = list({d.alert_id for d in batch})
        alerts = await self._store.alerts_snapshot(alert_ids)
        refs = await self._store.message_refs(alert_ids)
        for delivery in batch:
            prepared = _Prepared(
                alerts.get(delivery.alert_id), refs.get((delivery.alert_id, delivery.channel))
            )
            task = asyncio.create_task(self._deliver(delivery, prepared))
            self._inflight.add(task)
            task.add_done_callback(self._finished)
        return True

    def _finished(self, task: "asyncio.Task[None]") -> None:
        self._inflight.discard(task)
        self._wake.set()  # the next message of that alert may be claimable now

    async def drain(self, grace: float = 10.0) -> None:
        """Wait up to `grace` seconds for in-flight sends."""
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=grace)
            for task in pending:
                task.cancel()

    # ---- one delivery -------------------------------------------------------------------------

    async def _deliver(self, delivery: Delivery, prepared: "_Prepared") -> None:
        try:
            await self._attempt(delivery, prepared)
        except errors.DatabaseUnavailable:
            logger.warning(
                "outcome not recorded; the lease will expire and it is retried",
                extra={"action": "delivery_unrecorded", "delivery_id": delivery.id},
            )
        except Exception:
            logger.exception(
                "delivery crashed", extra={"action": "delivery_crashed", "delivery_id": delivery.id}
            )
            await self._fail(
                delivery,
                None,
                "internal error in perfbot; see its log",
                permanent=False,
                retry_after=None,
            )

    async def _attempt(self, delivery: Delivery, prepared: "_Prepared") -> None:
        channel = delivery.channel
        notifier = self._notifiers.get(channel)
        if notifier is None:
            await self._dead(delivery, None, f"channel {channel!r} is not configured")
            return
        now = self._clock.now()
        wait = self._limiter_wait(channel, now)
        if wait > 0:
            await self._defer(delivery, now + timedelta(seconds=wait), None, "rate_limited")
            return
        breaker, allowed = self._breaker(channel).allow(now)
        self._breakers[channel] = breaker
        if not allowed:
            await self._defer(
                delivery,
                now + timedelta(seconds=max(breaker.retry_in(now), 0.1)),
                "circuit open",
                "circuit_open",
            )
            await self._fallback_if_critical(delivery, "circuit open")
            return
        alert = prepared.alert
        if alert is None:
            await self._dead(delivery, None, f"alert #{delivery.alert_id} no longer exists")
            return
        notification = Notification(
            event=delivery.event,
            alert=alert,
            previous=prepared.ref,
            mention=delivery.mention,
            children=tuple(await self._children(alert)),
            series=await self._series(alert)
            if self._series and self._types.get(channel) in SERIES_CHANNELS
            else None,
            is_fallback=delivery.is_fallback,
            extra={"delivery_id": delivery.id},
        )
        try:
            async with asyncio.timeout(self._settings.timeout.total_seconds() * 3):
                ref = await notifier.send(notification)
        except errors.NotifyError as exc:
            await self._fail(
                delivery,
                exc.status,
                exc.reason,
                permanent=exc.permanent,
                retry_after=exc.retry_after,
            )
            return
        except TimeoutError:
            await self._fail(delivery, None, "timed out", permanent=False, retry_after=None)
            return
        self._breakers[channel] = self._breaker(channel).success()
        done = self._clock.now()
        if ref is not None:
            await self._store.save_message_ref(alert.id, channel, ref, done)
        await self._store.delivery_sent(delivery.id, done, None)
        self._count(channel, "sent")
        logger.info(
            "delivered",
            extra={
                "action": "delivery_sent",
                "delivery_id": delivery.id,
                "alert_id": alert.id,
                "channel": channel,
                "event": delivery.event,
                "attempt": delivery.attempts,
            },
        )

    async def _children(self, alert: Alert) -> list[Alert]:
        if alert.kind != "bottleneck":
            return []
        async with self._store.transaction() as tx:
            return await tx.children(alert.id)

    def _limiter_wait(self, channel: str, now: datetime) -> float:
        limiter = self._limiters.get(self._types.get(channel, ""))
        return limiter.take(channel, now) if limiter else 0.0

    def _breaker(self, channel: str) -> Breaker:
        if channel not in self._breakers:
            self._breakers[channel] = Breaker(
                self._settings.breaker_failures, self._settings.breaker_cooldown
            )
        return self._breakers[channel]

    async def _fail(
        self,
        delivery: Delivery,
        status: int | None,
        reason: str,
        *,
        permanent: bool,
        retry_after: float | None,
    ) -> None:
        now = self._clock.now()
        channel = delivery.channel
        if status == 429:
            # The destination is busy, not broken: wait as long as it asks, without using up an
            # attempt, so a 429 storm delays alerts but never drops one.
            wait = retry_after or backoff.backoff_seconds(
                delivery.attempts, self._policy, self._rng
            )
            limiter = self._limiters.get(self._types.get(channel, ""))
            if limiter is None:
                limiter = self._limiters[self._types.get(channel, "")] = RateLimiter(1000.0, 1000)
            limiter.block(channel, now, wait)
            await self._defer(
                delivery, now + timedelta(seconds=wait), f"{reason} (rate limited)", "rate_limited"
            )
            return
        if not permanent and backoff.classify(status) is backoff.Outcome.RETRY:
            breaker = self._breakers[channel] = self._breaker(channel).failure(now)
            if breaker.state != "closed":
                # The destination is down: everything for it waits for the circuit to close
                # again, without using up attempts; CRITICALs meanwhile go to the fallback.
                wait = max(breaker.retry_in(now), 0.1)
                await self._defer(
                    delivery,
                    now + timedelta(seconds=wait),
                    f"{reason} (circuit open)",
                    "circuit_open",
                )
                await self._fallback_if_critical(delivery, reason)
                return
        decision = backoff.after_failure(
            delivery.attempts,
            self._policy,
            self._rng,
            now,
            status=status,
            retry_after=retry_after,
            permanent=permanent,
        )
        text = f"{reason} ({decision.reason})"
        if decision.retry_at is None:
            await self._dead(delivery, status, text)
            return
        await self._store.delivery_retry(delivery.id, decision.retry_at, text, status)
        self._count(channel, "retry")
        logger.warning(
            "delivery failed; will retry",
            extra={
                "action": "delivery_retry",
                "delivery_id": delivery.id,
                "channel": channel,
                "status": status,
                "reason": reason,
                "retry_at": decision.retry_at.isoformat(),
            },
        )

    async def _defer(
        self, delivery: Delivery, at: datetime, reason: str | None, outcome: str
    ) -> None:
        await self._store.delivery_defer(delivery.id, at, reason)
        self._count(delivery.channel, outcome)

    async def _dead(self, delivery: Delivery, status: int | None, reason: str) -> None:
        await self._store.delivery_dead(delivery.id, reason, status)
        self._count(delivery.channel, "dead")
        logger.error(
            "delivery dead",
            extra={
                "action": "delivery_dead",
                "delivery_id": delivery.id,
                "alert_id": delivery.alert_id,
                "channel": delivery.channel,
                "status": status,
                "reason": reason,
            },
        )
        await self._fallback_if_critical(delivery, reason)

    async def _fallback_if_critical(self, delivery: Delivery, reason: str) -> None:
        """Queue one copy of a CRITICAL delivery on `delivery.fallback` (once per delivery)."""
        fallback = self._settings.fallback
        if (
            fallback is None
            or delivery.severity is not Severity.CRITICAL
            or delivery.is_fallback
            or delivery.channel == fallback
            or await self._store.has_fallback(delivery.id)
        ):
            return
        async with self._store.transaction() as tx:
            await tx.enqueue(
                delivery.alert_id,
                fallback,
                delivery.event,
                delivery.severity,
                now=self._clock.now(),
                max_attempts=self._settings.max_attempts,
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
                "fallback": fallback,
                "reason": reason,
            },
        )

    def _count(self, channel: str, outcome: str) -> None:
        self.outcomes[(channel, outcome)] += 1
        if self._metrics is not None:
            self._metrics.deliveries.labels(channel, outcome).inc()

    def health(self) -> dict[str, Any]:
        """Circuit state per channel, for /healthz."""
        now = self._clock.now()
        return {channel: breaker.status(now) for channel, breaker in self._breakers.items()}

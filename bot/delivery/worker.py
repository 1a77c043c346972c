"""The delivery loop: claims due deliveries in batches (woken by NOTIFY, the next due time or a
poll), fetches what the batch needs in one round trip each, sends each delivery through its
channel's `Notifier` under a bound, and hands every outcome to the delivery policy
(`bot.routing.attempt`) and the `Recorder`. On stop it finishes in-flight sends (bounded) and
hands back unsent claims."""

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot import errors
from bot.clock import Clock
from bot.config import DeliverySettings, build
from bot.delivery.destinations import Destinations
from bot.delivery.recorder import Recorder
from bot.metrics import Metrics
from bot.models import Alert, Delivery
from bot.notify import LatencySeries, MessageRef, Notification, Notifier, facts, mentions_for
from bot.routing import attempt
from bot.routing.links import LinkRule, links_for
from bot.store import Store
from bot.store.deliveries import DeliveryListener
from bot.streak import FailureStreak, describe

# Every delivery log line keeps the logger name it had when the worker was one module.
logger = logging.getLogger("bot.delivery")

SeriesProvider = Callable[[Alert], Awaitable[LatencySeries | None]]
IDLE_POLL_S = 5.0
SERIES_CHANNELS = frozenset({"slack", "mattermost", "email", "console"})  # show sparkline/chart
BLOCKED_POLL_S = 0.25
SHOWN = "shown"  # the key of `facts.shown_digest` in a message's stored reference


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
        links: Sequence[LinkRule] = (),
    ) -> None:
        self._store = store
        self._links = tuple(links)
        self._notifiers = notifiers
        self._types = channel_types
        self._settings = settings
        self._clock = clock
        self.worker_id = worker_id
        self._rng = rng or random.Random()
        self._series = series
        self._policy = build.retry_policy(settings)
        self._destinations = Destinations(
            channel_types,
            settings.rate_limits,
            settings.burst,
            settings.breaker_failures,
            settings.breaker_cooldown,
        )
        self._recorder = Recorder(store, clock, settings.max_attempts, metrics, worker=worker_id)
        self.outcomes = self._recorder.outcomes  # (channel, outcome) → count
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._listener: DeliveryListener | None = None
        # Failed rounds of the loop, and failed LISTEN (re)starts: logged, backed off, /healthz.
        self.streak = FailureStreak("delivery loop", "delivery_loop_failed", log=logger)
        self.listener_streak = FailureStreak(
            "delivery listener", "delivery_listen_failed", log=logger
        )

    # ---- loop -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; then finish in-flight sends (bounded) and hand back
        unsent claims. Nothing but cancellation ends it early: a failed round (the database
        down or slow, or anything unexpected) is logged and counted in `streak`, and the loop
        backs off and goes on."""
        try:
            while not stop.is_set():
                await self._keep_listening()
                try:
                    if not await self.run_once():
                        await self._idle(stop)
                except Exception as exc:  # noqa: BLE001 -- the streak logs it (traceback once)
                    await self._pause(stop, self.streak.failed(exc))
                else:
                    self.streak.succeeded()
        finally:
            await self.drain()
            if self._listener is not None:
                await self._listener.close()
                self._listener = None
            try:
                released = await self._store.deliveries.release(self.worker_id)
                if released:
                    logger.info(
                        "claims released", extra={"action": "delivery_released", "count": released}
                    )
            except Exception as exc:
                logger.warning(
                    "claims not released; their leases will expire",
                    exc_info=not isinstance(exc, errors.StoreError),
                    extra={"action": "delivery_release_failed", "error": describe(exc)},
                )

    async def _keep_listening(self) -> None:
        """(Re)start LISTEN when it is down and its back-off is over; meanwhile the loop polls."""
        if self._listener is not None and not self._listener.is_alive():
            await self._listener.close()
            self._listener = None
        if self._listener is None and self.listener_streak.due():
            try:
                self._listener = await self._store.deliveries.listen(self._wake.set)
            except Exception as exc:  # noqa: BLE001 -- the streak logs it (traceback once)
                self.listener_streak.failed(exc)
            else:
                self.listener_streak.succeeded()

    @staticmethod
    async def _pause(stop: asyncio.Event, seconds: float) -> None:
        """Back off for `seconds`, or until `stop` is set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Sleep until woken by NOTIFY, the next due delivery, or the poll interval."""
        timeout = IDLE_POLL_S
        due = await self._store.deliveries.next_due(self._clock.now())
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
        batch = await self._store.deliveries.claim(self.worker_id, now, free, self._settings.lease)
        if not batch:
            return False
        # One round trip each for the whole batch's alerts and message references.
        alert_ids = list({d.alert_id for d in batch})
        alerts = await self._store.alerts.snapshot(alert_ids)
        refs = await self._store.alerts.message_refs(alert_ids)
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
        except errors.StoreError as exc:  # the database down or too slow
            logger.warning(
                "outcome not recorded; the lease will expire and it is retried",
                extra={
                    "action": "delivery_unrecorded",
                    "delivery_id": delivery.id,
                    "error": describe(exc),
                },
            )
        except Exception:
            logger.exception(
                "delivery crashed", extra={"action": "delivery_crashed", "delivery_id": delivery.id}
            )
            try:
                await self._settle(delivery, attempt.CRASHED)
            except Exception as exc:
                logger.warning(
                    "crash not recorded; the lease will expire and it is retried",
                    exc_info=True,
                    extra={
                        "action": "delivery_unrecorded",
                        "delivery_id": delivery.id,
                        "error": describe(exc),
                    },
                )

    async def _attempt(self, delivery: Delivery, prepared: "_Prepared") -> None:
        channel = delivery.channel
        notifier = self._notifiers.get(channel)
        alert = prepared.alert
        now = self._clock.now()
        gate = attempt.admit(
            delivery,
            configured=notifier is not None,
            alert_exists=alert is not None,
            breaker=self._destinations.breaker(channel),
            bucket=self._destinations.bucket(channel),
            fallback=self._settings.fallback,
            now=now,
        )
        self._destinations.keep(channel, gate.breaker, gate.bucket)
        if not isinstance(gate, attempt.Admitted):
            await self._recorder.record(delivery, gate, now)
            return
        assert notifier is not None  # admitted: its channel is configured
        assert alert is not None  # and its alert exists
        notification = Notification(
            event=delivery.event,
            alert=alert,
            previous=prepared.ref,
            mention=mentions_for(self._types.get(channel, ""), delivery.mention),
            children=tuple(await self._children(alert)),
            series=await self._series(alert)
            if self._series and self._types.get(channel) in SERIES_CHANNELS
            else None,
            is_fallback=delivery.is_fallback,
            extra={"delivery_id": delivery.id},
            links=links_for(alert, self._links),
        )
        shown = facts.shown_digest(notification)
        if delivery.event == "updated" and (prepared.ref or {}).get(SHOWN) == shown:
            # the edit would show what the message already shows: nothing to send
            logger.info(
                "update shows nothing new",
                extra={"action": "delivery_unchanged", "delivery_id": delivery.id},
            )
            await self._settle(delivery, attempt.DELIVERED, prepared.ref)
            return
        try:
            async with asyncio.timeout(self._settings.timeout.total_seconds() * 3):
                ref = await notifier.send(notification)
        except errors.RenderError as exc:
            # the message, not the destination: dead at once, the circuit not told
            logger.warning(
                "delivery cannot be rendered",
                exc_info=exc.__cause__ is not None,
                extra={
                    "action": "delivery_unrenderable",
                    "delivery_id": delivery.id,
                    "alert_id": delivery.alert_id,
                    "channel": channel,
                    "reason": exc.reason,
                },
            )
            await self._settle(delivery, attempt.Unrenderable(exc.reason))
            return
        except errors.NotifyError as exc:
            await self._settle(delivery, attempt.Failed.of(exc))
            return
        except TimeoutError:
            await self._settle(delivery, attempt.TIMED_OUT)
            return
        # the digest of what was shown is kept with the message's reference (even for channels
        # that cannot address a message later), so that a later identical update is not sent
        await self._settle(delivery, attempt.DELIVERED, {**(ref or {}), SHOWN: shown})

    async def _children(self, alert: Alert) -> list[Alert]:
        if alert.kind != "bottleneck":
            return []
        async with self._store.alerts.transaction() as tx:
            return await tx.children(alert.id)

    async def _settle(
        self,
        delivery: Delivery,
        result: attempt.Delivered | attempt.Failed | attempt.Unrenderable,
        ref: MessageRef | None = None,
    ) -> None:
        """Decide what `result` leads to, keep the destination's new state, record it."""
        channel = delivery.channel
        now = self._clock.now()
        decision = attempt.decide(
            result,
            delivery,
            breaker=self._destinations.breaker(channel),
            bucket=self._destinations.bucket(channel),
            policy=self._policy,
            fallback=self._settings.fallback,
            rng=self._rng,
            now=now,
        )
        self._destinations.keep(channel, decision.breaker, decision.bucket)
        await self._recorder.record(delivery, decision, now, ref)

    def health(self) -> dict[str, Any]:
        """Circuit state per channel, for /healthz."""
        return self._destinations.health(self._clock.now())

    def loop_health(self) -> dict[str, Any]:
        """The loop's and its listener's failure streaks, for /healthz: failing once either
        failed `streak.FAILING_AFTER` times in a row."""
        return {
            "ok": not (self.streak.failing or self.listener_streak.failing),
            "loop": self.streak.health(),
            "listener": self.listener_streak.health(),
        }

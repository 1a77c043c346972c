"""The outbox worker against real PostgreSQL, with a scripted in-memory channel: retries with
backoff, Retry-After, permanent failures, the CRITICAL fallback, crash recovery and two workers
sharing the queue without sending a row twice."""

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import SystemClock
from bot.config import DeliverySettings
from bot.delivery import DeliveryWorker
from bot.errors import NotifyError
from bot.models import DeliveryStatus, Severity
from bot.notify import MessageRef, Notification
from bot.store import Store
from tests.factories import make_new_alert
from tests.fakes.webhook import WebhookReceiver
from tests.polling import eventually


@dataclass
class ScriptedChannel:
    """A channel that answers from a script of HTTP statuses (200 = delivered), then 200s."""

    channel: str
    script: list[int] = field(default_factory=list)
    retry_after: float | None = None
    delay: float = 0.0
    calls: list[tuple[float, str, int]] = field(
        default_factory=list
    )  # (monotonic, event, alert id)

    async def send(self, notification: Notification) -> MessageRef | None:
        self.calls.append((time.monotonic(), notification.event, notification.alert.id))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.script.pop(0) if self.script else 200
        if status != 200:
            raise NotifyError(
                self.channel,
                f"HTTP {status}",
                status=status,
                permanent=400 <= status < 500 and status != 429,
                retry_after=self.retry_after if status == 429 else None,
            )
        return {"id": f"msg-{notification.alert.id}"}

    async def aclose(self) -> None:
        return None


FAST = DeliverySettings(
    max_attempts=4,
    backoff_base=timedelta(milliseconds=50),
    backoff_max=timedelta(milliseconds=200),
    lease=timedelta(seconds=2),
    rate_limits={},
    breaker_failures=50,
)


async def queue(
    store: Store,
    channel: str = "hook",
    severity: Severity = Severity.WARNING,
    n: int = 1,
    events: int = 1,
    prefix: str = "op",
    second: str = "acknowledged",
) -> list[int]:
    alert_ids = []
    async with store.alerts.transaction() as tx:
        for i in range(n):
            alert = await tx.insert_alert(
                make_new_alert(fingerprint=f"anomaly:{prefix}{i}", severity=severity)
            )
            alert_ids.append(alert.id)
            for e in range(events):
                await tx.enqueue(
                    alert.id,
                    channel,
                    "fired" if e == 0 else second,
                    severity,
                    now=SystemClock().now(),
                    max_attempts=FAST.max_attempts,
                )
    return alert_ids


def worker(
    store: Store,
    channels: dict[str, ScriptedChannel],
    settings: DeliverySettings = FAST,
    name: str = "w1",
) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        channels,
        {n: "webhook" for n in channels},
        settings,
        SystemClock(),
        name,
        rng=random.Random(1),
    )


@pytest.fixture
async def running() -> AsyncIterator[list[tuple[asyncio.Event, asyncio.Task[None]]]]:
    started: list[tuple[asyncio.Event, asyncio.Task[None]]] = []
    yield started
    for stop, _task in started:
        stop.set()
    await asyncio.gather(*(t for _, t in started), return_exceptions=True)


def start(w: DeliveryWorker, running: list) -> asyncio.Event:
    stop = asyncio.Event()
    running.append((stop, asyncio.create_task(w.run(stop))))
    return stop


async def statuses(store: Store, alert_id: int) -> list[DeliveryStatus]:
    return [d.status for d in await store.deliveries.for_alert(alert_id)]


async def test_503_twice_then_200_is_delivered_on_attempt_3(store: Store, running: list) -> None:
    [alert_id] = await queue(store)
    hook = ScriptedChannel("hook", script=[503, 503])
    start(worker(store, {"hook": hook}), running)
    await eventually(lambda: _all(store, alert_id, DeliveryStatus.SENT))
    [d] = await store.deliveries.for_alert(alert_id)
    assert d.attempts == 3
    assert len(hook.calls) == 3
    [ref] = (await store.alerts.message_refs([alert_id])).values()
    assert ref["id"] == f"msg-{alert_id}"
    assert len(ref["shown"]) == 32  # the digest of what the message shows


async def test_retry_after_is_honoured(store: Store, running: list) -> None:
    [alert_id] = await queue(store)
    hook = ScriptedChannel("hook", script=[429], retry_after=2.0)
    start(worker(store, {"hook": hook}), running)
    await eventually(lambda: _all(store, alert_id, DeliveryStatus.SENT), within=15)
    (first, *_), (second, *_) = hook.calls
    assert second - first >= 2.0


async def test_permanent_failure_is_dead_and_visible(store: Store, running: list) -> None:
    [alert_id] = await queue(store)
    start(worker(store, {"hook": ScriptedChannel("hook", script=[404])}), running)
    await eventually(lambda: _all(store, alert_id, DeliveryStatus.DEAD))
    [dead] = await store.deliveries.for_alert(alert_id)
    assert (await store.deliveries.stats(datetime.now(UTC))).dead == 1  # /perf status shows it
    assert dead.attempts == 1
    assert dead.last_error is not None
    assert "permanent" in dead.last_error


async def test_critical_that_exhausts_its_attempts_goes_to_the_fallback(
    store: Store, running: list
) -> None:
    [alert_id] = await queue(store, severity=Severity.CRITICAL)
    hook = ScriptedChannel("hook", script=[503] * 10)
    email = ScriptedChannel("email")
    settings = FAST.model_copy(update={"fallback": "email"})
    start(worker(store, {"hook": hook, "email": email}, settings), running)

    async def fallback_sent() -> bool:
        rows = await store.deliveries.for_alert(alert_id)
        return any(d.channel == "email" and d.status is DeliveryStatus.SENT for d in rows) and any(
            d.channel == "hook" and d.status is DeliveryStatus.DEAD for d in rows
        )

    await eventually(fallback_sent)
    [copy] = [d for d in await store.deliveries.for_alert(alert_id) if d.channel == "email"]
    assert copy.is_fallback
    assert len(hook.calls) == FAST.max_attempts


async def test_unknown_channel_is_dead_not_dropped(store: Store, running: list) -> None:
    [alert_id] = await queue(store, channel="gone")
    start(worker(store, {"hook": ScriptedChannel("hook")}), running)
    await eventually(lambda: _all(store, alert_id, DeliveryStatus.DEAD))
    [d] = await store.deliveries.for_alert(alert_id)
    assert d.last_error == "channel 'gone' is not configured"


async def test_a_delivery_interrupted_by_a_crash_is_sent_after_restart(
    store: Store, running: list
) -> None:
    [alert_id] = await queue(store)
    now = SystemClock().now()
    claimed = await store.deliveries.claim("crashed-worker", now, 10, timedelta(0))
    assert len(claimed) == 1  # claimed, then the process died without a word
    hook = ScriptedChannel("hook")
    start(worker(store, {"hook": hook}, name="restarted"), running)
    await eventually(lambda: _all(store, alert_id, DeliveryStatus.SENT))
    [d] = await store.deliveries.for_alert(alert_id)
    assert d.attempts == 2
    assert len(hook.calls) == 1


async def test_two_workers_share_the_queue_and_send_each_row_once(
    store: Store, running: list
) -> None:
    alert_ids = await queue(store, n=40, events=2)
    hook = ScriptedChannel("hook", delay=0.01)
    a, b = worker(store, {"hook": hook}, name="a"), worker(store, {"hook": hook}, name="b")
    start(a, running)
    start(b, running)

    async def everything_sent() -> bool:
        stats = await store.deliveries.stats(SystemClock().now())
        return stats.pending == 0 and stats.sending == 0

    await eventually(everything_sent)
    assert len(hook.calls) == 80
    assert len({(e, i) for _, e, i in hook.calls}) == 80
    for alert_id in alert_ids:
        events = [e for _, e, i in sorted(hook.calls) if i == alert_id]
        assert events == ["fired", "acknowledged"]
    assert a.outcomes[("hook", "sent")] > 0
    assert b.outcomes[("hook", "sent")] > 0


async def test_open_circuit_defers_without_using_attempts(store: Store, running: list) -> None:
    [alert_id] = await queue(store)
    hook = ScriptedChannel("hook", script=[503, 503])
    settings = FAST.model_copy(
        update={
            "breaker_failures": 2,
            "breaker_cooldown": timedelta(milliseconds=300),
            "max_attempts": 3,
        }
    )
    start(worker(store, {"hook": hook}, settings), running)
    await eventually(lambda: _all(store, alert_id, DeliveryStatus.SENT))
    [d] = await store.deliveries.for_alert(alert_id)
    assert len(hook.calls) == 3
    assert d.attempts == 2  # the failure that opened the circuit did not count


async def test_429_storm_delays_but_never_kills(store: Store, running: list) -> None:
    [alert_id] = await queue(store)
    hook = ScriptedChannel("hook", script=[429] * 6, retry_after=0.1)
    start(worker(store, {"hook": hook}), running)
    await eventually(lambda: _all(store, alert_id, DeliveryStatus.SENT))
    [d] = await store.deliveries.for_alert(alert_id)
    assert len(hook.calls) == 7
    assert d.attempts == 1  # more 429s than max_attempts, yet delivered


async def _all(store: Store, alert_id: int, status: DeliveryStatus) -> bool:
    found = await statuses(store, alert_id)
    return bool(found) and all(s is status for s in found)


async def test_over_real_http_503_twice_then_200_and_retry_after(
    store: Store, running: list, webhook_receiver: WebhookReceiver
) -> None:
    """The same guarantees through the real webhook channel and an HTTP receiver."""
    from bot.notify.webhook import WebhookNotifier

    [first] = await queue(store, channel="hook")
    webhook_receiver.fail(503, times=2)
    hook = WebhookNotifier("hook", url=webhook_receiver.hook_url, secret=None, timeout=5)
    start(worker(store, {"hook": hook}), running)  # type: ignore[dict-item]
    try:
        await _real_http_checks(store, webhook_receiver, first)
    finally:
        for stop, _task in running:
            stop.set()
        await asyncio.gather(*(t for _, t in running), return_exceptions=True)
        await hook.aclose()


async def _real_http_checks(store: Store, webhook_receiver: WebhookReceiver, first: int) -> None:
    await eventually(lambda: _all(store, first, DeliveryStatus.SENT))
    [d] = await store.deliveries.for_alert(first)
    assert d.attempts == 3
    assert len(webhook_receiver.faulted) == 2
    assert len(webhook_receiver.calls) == 1

    webhook_receiver.fail(429, times=1, retry_after=2)
    [second] = await queue(store, channel="hook", n=1, prefix="again")
    await eventually(lambda: _all(store, second, DeliveryStatus.SENT), within=15)
    refused_at = webhook_receiver.faulted[-1].at
    delivered_at = webhook_receiver.calls[-1].at
    assert delivered_at - refused_at >= 2.0


async def test_an_update_that_shows_nothing_new_is_not_sent(store: Store, running: list) -> None:
    # a bottleneck parent used to be edited 2-4 times a cycle with the same text: the second and
    # third `updated` here show exactly what `fired` showed, so the channel is not called
    [alert_id] = await queue(store, events=3, second="updated")
    hook = ScriptedChannel("hook")
    stop = start(worker(store, {"hook": hook}), running)
    await eventually(lambda: _all(store, alert_id, DeliveryStatus.SENT))
    assert [e for _, e, _ in hook.calls] == ["fired"]
    async with store.alerts.transaction() as tx:
        [alert] = await tx.alerts_by_ids([alert_id])
        await tx.update_alert(
            alert.model_copy(update={"occurrences": 5, "version": alert.version + 1})
        )
        await tx.enqueue(
            alert_id,
            "hook",
            "updated",
            Severity.WARNING,
            now=SystemClock().now(),
            max_attempts=FAST.max_attempts,
        )
    await eventually(lambda: _all(store, alert_id, DeliveryStatus.SENT))
    stop.set()
    assert [e for _, e, _ in hook.calls] == ["fired", "updated"]  # 5 occurrences: a new figure

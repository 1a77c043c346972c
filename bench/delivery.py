"""Alert delivery figures on loopback, against real PostgreSQL and a real webhook receiver:

- alert_latency_p99_ms: an anomaly stored → its alert decided → queued → a delivery worker
  woken by LISTEN/NOTIFY → the webhook POST received (target ≤ 500 ms);
- deliveries_per_s: two workers draining a queue of deliveries to the webhook (target ≥ 500/s).

The receiver runs in the same process as the workers (it competes with them for the CPU, so
the figures are conservative). Usage: ./dev bench delivery [--alerts N] [--deliveries N]"""

import argparse
import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from common import drop_database, emit, fresh_database, server

from bot.alerts import AlertService
from bot.clock import SystemClock
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.models import AnomalyKind, Severity
from bot.notify.registry import build_notifiers, close_all
from bot.store import Store
from tests.factories import make_anomaly, make_new_alert
from tests.fakes.webhook import WebhookReceiver


def settings(hook_url: str) -> Settings:
    return Settings.load(
        channels={"hook": {"type": "webhook", "url": hook_url, "secret": "bench-secret"}},
        routes=[{"name": "all", "notify": ["hook"]}],
        delivery={"concurrency": 32, "rate_limits": {}},
    )


async def latency(store: Store, receiver: WebhookReceiver, s: Settings, alerts: int) -> list[float]:
    clock = SystemClock()
    service = AlertService(store, s, clock)
    notifiers = build_notifiers(s)
    worker = DeliveryWorker(store, notifiers, {"hook": "webhook"}, s.delivery, clock, "bench")
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    samples = []
    try:
        await asyncio.sleep(0.5)  # the worker is listening
        for i in range(alerts):
            seen = len(receiver.calls)
            now = datetime.now(UTC)
            started = time.time()
            anomaly = make_anomaly(
                operation_type=f"op_{i}",
                kind=AnomalyKind.STATISTICAL,
                severity=Severity.WARNING,
                detected_at=now,
            )
            [stored] = await store.findings.add_anomalies([anomaly])
            await service.process_anomalies([stored], now)
            while len(receiver.calls) == seen:  # noqa: ASYNC110 -- the receiver has no event to await
                await asyncio.sleep(0.0005)
            samples.append((receiver.calls[seen].at - started) * 1000)
    finally:
        stop.set()
        await task
        await close_all(notifiers)
    return samples


async def throughput(
    store: Store, receiver: WebhookReceiver, s: Settings, deliveries: int
) -> float:
    clock = SystemClock()
    per_alert = 5
    async with store.alerts.transaction() as tx:
        for i in range(deliveries // per_alert):
            alert = await tx.insert_alert(
                make_new_alert(fingerprint=f"anomaly:bulk{i}", operation_types=(f"bulk{i}",))
            )
            for e in range(per_alert):
                await tx.enqueue(
                    alert.id,
                    "hook",
                    "fired" if e == 0 else "updated",
                    Severity.WARNING,
                    now=clock.now() - timedelta(seconds=1),
                    max_attempts=5,
                )
    notifiers = [build_notifiers(s) for _ in range(2)]
    workers = [
        DeliveryWorker(store, n, {"hook": "webhook"}, s.delivery, clock, f"w{i}")
        for i, n in enumerate(notifiers)
    ]
    before = len(receiver.calls)
    stop = asyncio.Event()
    started = time.perf_counter()
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    while len(receiver.calls) - before < deliveries:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks)
    for n in notifiers:
        await close_all(n)
    return deliveries / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--deliveries", type=int, default=5000)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with server() as srv:
        async with WebhookReceiver() as receiver:
            url = await fresh_database(srv)
            store = await Store.open(url)
            try:
                s = settings(receiver.hook_url)
                samples = sorted(await latency(store, receiver, s, args.alerts))
                rate = await throughput(store, receiver, s, args.deliveries)
            finally:
                await store.close()
                await drop_database(srv, url)
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]  # noqa: E731
    emit(
        {
            "alerts": args.alerts,
            "alert_latency_p50_ms": round(p(0.50), 1),
            "alert_latency_p99_ms": round(p(0.99), 1),
            "alert_latency_target_ms": 500,
            "deliveries": args.deliveries,
            "workers": 2,
            "deliveries_per_s": round(rate),
            "deliveries_per_s_target": 500,
            "receiver": "aiohttp webhook receiver in the same process, loopback",
        }
    )


if __name__ == "__main__":
    asyncio.run(main())

"""The outbox's claim semantics against real PostgreSQL."""

import asyncio
from datetime import timedelta

from bot.models import DeliveryStatus, Severity
from bot.store import Store
from tests.factories import T0, make_new_alert


async def queue(
    store: Store, count: int, *, channel: str = "hook", fingerprint: str = "anomaly:commit"
) -> tuple[int, list[int]]:
    async with store.alerts.transaction() as tx:
        alert = await tx.insert_alert(make_new_alert(fingerprint=fingerprint))
        ids = [
            await tx.enqueue(
                alert.id,
                channel,
                "fired" if i == 0 else "updated",
                Severity.WARNING,
                now=T0,
                max_attempts=3,
            )
            for i in range(count)
        ]
    return alert.id, ids


async def test_two_workers_never_claim_the_same_row(store: Store) -> None:
    for i in range(20):
        await queue(store, 1, fingerprint=f"anomaly:op{i}")
    until = T0 + timedelta(seconds=60)
    a, b = await asyncio.gather(
        store.deliveries.claim("a", T0, 15, until), store.deliveries.claim("b", T0, 15, until)
    )
    ids_a, ids_b = {d.id for d in a}, {d.id for d in b}
    assert not ids_a & ids_b
    assert len(ids_a | ids_b) == 20
    assert all(d.status is DeliveryStatus.SENDING and d.attempts == 1 for d in a + b)


async def test_messages_of_one_alert_go_out_in_order(store: Store) -> None:
    _, ids = await queue(store, 3)
    until = T0 + timedelta(seconds=60)
    first = await store.deliveries.claim("a", T0, 10, until)
    assert [d.id for d in first] == ids[:1]
    assert await store.deliveries.claim("b", T0, 10, until) == []
    await store.deliveries.sent(ids[0], T0, 200)
    assert [d.id for d in await store.deliveries.claim("b", T0, 10, until)] == ids[1:2]


async def test_an_expired_claim_is_taken_again(store: Store) -> None:
    _, ids = await queue(store, 1)
    await store.deliveries.claim("crashed", T0, 10, T0 + timedelta(seconds=30))
    assert (
        await store.deliveries.claim(
            "b", T0 + timedelta(seconds=10), 10, T0 + timedelta(seconds=70)
        )
        == []
    )
    [again] = await store.deliveries.claim(
        "b", T0 + timedelta(seconds=31), 10, T0 + timedelta(seconds=91)
    )
    assert again.id == ids[0]
    assert again.attempts == 2


async def test_retry_waits_and_release_hands_back(store: Store) -> None:
    _, ids = await queue(store, 1)
    await store.deliveries.claim("a", T0, 10, T0 + timedelta(seconds=60))
    await store.deliveries.retry(ids[0], T0 + timedelta(seconds=5), "HTTP 503", 503)
    assert (
        await store.deliveries.claim("a", T0 + timedelta(seconds=4), 10, T0 + timedelta(seconds=60))
        == []
    )
    [d] = await store.deliveries.claim(
        "a", T0 + timedelta(seconds=5), 10, T0 + timedelta(seconds=65)
    )
    assert d.last_error == "HTTP 503"
    assert await store.deliveries.release("a") == 1
    stats = await store.deliveries.stats(T0 + timedelta(seconds=10))
    assert (stats.pending, stats.sending, stats.dead) == (1, 0, 0)
    assert stats.oldest_s == 10


async def test_listen_wakes_on_enqueue(store: Store) -> None:
    woke = asyncio.Event()
    listener = await store.deliveries.listen(woke.set)
    try:
        await queue(store, 1)
        await asyncio.wait_for(woke.wait(), timeout=5)
    finally:
        await listener.close()


async def test_audit_events_are_append_only(store: Store) -> None:
    import asyncpg
    import pytest

    from bot.models import ActorSource, AlertEvent

    alert_id, _ = await queue(store, 1)
    async with store.alerts.transaction() as tx:
        await tx.add_event(
            AlertEvent(
                alert_id=alert_id,
                at=T0,
                actor="alice",
                source=ActorSource.SLACK,
                action="acknowledged",
            )
        )
    async with store.connector.pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE perfbot.alert_events SET actor = 'mallory'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM perfbot.alert_events")
    [event] = await store.alerts.events(alert_id)
    assert event.actor == "alice"

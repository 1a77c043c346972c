"""The outbox's claim semantics against real PostgreSQL."""

import asyncio
from datetime import timedelta
from typing import Any

from bot.models import DeliveryStatus, Severity
from bot.store import Store
from bot.store.deliveries import Claim
from bot.store.queries import QUERIES
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
    lease = timedelta(seconds=60)
    a, b = await asyncio.gather(
        store.deliveries.claim("a", T0, 15, lease), store.deliveries.claim("b", T0, 15, lease)
    )
    ids_a, ids_b = {d.id for d in a}, {d.id for d in b}
    assert not ids_a & ids_b
    assert len(ids_a | ids_b) == 20
    assert all(d.status is DeliveryStatus.SENDING and d.attempts == 1 for d in a + b)


async def test_messages_of_one_alert_go_out_in_order(store: Store) -> None:
    _, ids = await queue(store, 3)
    lease = timedelta(seconds=60)
    [first] = await store.deliveries.claim("a", T0, 10, lease)
    assert first.id == ids[0]
    assert await store.deliveries.claim("b", T0, 10, lease) == []
    assert await store.deliveries.sent(Claim.of(first, "a"), T0, 200)
    assert [d.id for d in await store.deliveries.claim("b", T0, 10, lease)] == ids[1:2]


async def test_an_expired_claim_is_taken_again(store: Store) -> None:
    """Leases run on the database's clock: a lease of zero has expired by the next statement,
    one of an hour has not, whatever the bot's clock (`T0`, far in the past) says."""
    _, ids = await queue(store, 1)
    await store.deliveries.claim("stalled", T0, 10, timedelta(hours=1))
    assert await store.deliveries.claim("b", T0 + timedelta(days=1), 10, timedelta(hours=1)) == []
    await store.deliveries.release("stalled")
    await store.deliveries.claim("crashed", T0, 10, timedelta(0))
    [again] = await store.deliveries.claim("b", T0, 10, timedelta(seconds=60))
    assert again.id == ids[0]
    assert again.attempts == 2


async def test_a_stale_worker_finishing_after_its_lease_was_retaken_changes_nothing(
    store: Store,
) -> None:
    """Worker a's lease expires mid-send; b retakes the row and sends it. Every outcome a then
    tries to record is refused (False) and b's stands."""
    _, ids = await queue(store, 1)
    [stale] = await store.deliveries.claim("a", T0, 10, timedelta(0))
    [fresh] = await store.deliveries.claim("b", T0, 10, timedelta(seconds=60))
    assert fresh.id == stale.id == ids[0]
    assert await store.deliveries.sent(Claim.of(fresh, "b"), T0, 200)
    lost = Claim.of(stale, "a")
    later = T0 + timedelta(seconds=5)
    assert not await store.deliveries.retry(lost, later, "HTTP 503", 503)
    assert not await store.deliveries.defer(lost, later, "circuit open")
    assert not await store.deliveries.dead(lost, "gave up", 503)
    assert not await store.deliveries.sent(lost, later, 200)
    [row] = await store.deliveries.for_alert(fresh.alert_id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (
        DeliveryStatus.SENT,
        2,
        T0,
        None,
    )


async def test_a_stale_claim_of_the_same_worker_changes_nothing(store: Store) -> None:
    """The same worker's earlier claim (attempt 1) cannot record over its own later one."""
    await queue(store, 1)
    [first] = await store.deliveries.claim("a", T0, 10, timedelta(0))
    [second] = await store.deliveries.claim("a", T0, 10, timedelta(seconds=60))
    assert (first.attempts, second.attempts) == (1, 2)
    assert not await store.deliveries.retry(Claim.of(first, "a"), T0, "HTTP 503", 503)
    assert await store.deliveries.dead(Claim.of(second, "a"), "HTTP 404", 404)
    [row] = await store.deliveries.for_alert(first.alert_id)
    assert (row.status, row.last_status) == (DeliveryStatus.DEAD, 404)


async def test_retry_waits_and_release_hands_back(store: Store) -> None:
    await queue(store, 1)
    [claimed] = await store.deliveries.claim("a", T0, 10, timedelta(seconds=60))
    assert await store.deliveries.retry(
        Claim.of(claimed, "a"), T0 + timedelta(seconds=5), "HTTP 503", 503
    )
    assert (
        await store.deliveries.claim("a", T0 + timedelta(seconds=4), 10, timedelta(seconds=60))
        == []
    )
    [d] = await store.deliveries.claim("a", T0 + timedelta(seconds=5), 10, timedelta(seconds=60))
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


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in plan_nodes(child))]


async def test_queue_stats_read_only_unsent_and_dead_rows(store: Store) -> None:
    """/metrics runs this on every scrape: with 20,000 sent rows kept, its plan touches the
    outbox only through the partial indexes of unsent and dead rows."""
    alert_id, _ = await queue(store, 3)  # three pending
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO perfbot.deliveries
                   (alert_id, channel, event, severity, status, attempts, max_attempts,
                    next_attempt_at, created_at, sent_at)
               SELECT $1, 'hook', 'updated', 'WARNING', 'sent', 1, 3, $2, $2, $2
                 FROM generate_series(1, 20000)""",
            alert_id,
            T0 - timedelta(days=1),
        )
        await conn.execute("ANALYZE perfbot.deliveries")
        [explained] = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + QUERIES["delivery_queue_stats"], T0
        )
    nodes = plan_nodes(explained["Plan"])
    partial = {"deliveries_unsent", "deliveries_due", "deliveries_dead"}  # unsent or dead rows
    scans = [n for n in nodes if "Relation Name" in n or n["Node Type"] == "Bitmap Index Scan"]
    assert scans
    for node in scans:
        assert node["Node Type"] in {
            "Index Only Scan",
            "Index Scan",
            "Bitmap Index Scan",
            "Bitmap Heap Scan",
        }, node["Node Type"]
        assert node["Node Type"] == "Bitmap Heap Scan" or node["Index Name"] in partial, node
    stats = await store.deliveries.stats(T0 + timedelta(seconds=10))
    assert (stats.pending, stats.sending, stats.dead, stats.oldest_s) == (3, 0, 0, 10.0)

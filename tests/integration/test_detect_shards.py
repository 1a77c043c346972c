"""Replicas share detection by shards, against real PostgreSQL: three replicas (Jobs with their
own owner names on one database) run every cycle at the same moment over 300 operations; each
shard's minutes are scored once (contiguous, non-overlapping windows), no (operation, minute)
anomaly is stored twice, every replica took a share, and the shards a dead replica held are
taken over once their lease ends."""

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.config import Settings
from bot.jobs import Jobs
from bot.models import AnomalyKind, OperationLimits
from bot.sharding import JOB, shard_of, walk_order
from bot.store import Store
from tests.factories import latency_history
from tests.polling import eventually

NOW = datetime(2026, 11, 27, 12, 0, 20, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SPIKES = (datetime(2026, 11, 27, 11, 59, tzinfo=UTC), datetime(2026, 11, 27, 12, 2, tzinfo=UTC))
OPERATIONS = [f"svc{i // 30}.endpoint_{i}" for i in range(300)]
SHARDS = 16
HOOK = {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"}}
OWNERS = ("replica-a", "replica-b", "replica-c")


def replicas(store: Store, clock: FrozenClock) -> list[Jobs]:
    settings = Settings.load(channels=HOOK, detection={"shards": SHARDS, "shard_lease": "2s"})
    return [Jobs(store, settings, AlertService(store, settings, clock), owner=o) for o in OWNERS]


async def history(store: Store) -> None:
    # 300 new names at once: past the default cap on new names per hour
    loader = Store(store.connector, OperationLimits(max_new_operations_per_hour=1000))
    rows = []
    for i, op in enumerate(OPERATIONS):
        rows.extend(
            latency_history(
                op,
                NOW.replace(second=0) - timedelta(minutes=90),
                NOW + 5 * MINUTE,
                median_ms=5.0 + i % 7,
                per_minute=8,
                seed=i,
                factor=lambda t: 8.0 if t in SPIKES else 1.0,
            )
        )
    await loader.metrics.add(rows)


async def windows(store: Store) -> dict[int, list[tuple[datetime, datetime, str]]]:
    async with store.connector.connection() as conn:
        rows = await conn.fetch(
            "SELECT shard, scored_from, scored_to, scored_by FROM perfbot.shard_claims"
            " WHERE job = $1 AND shard >= 0 AND done_at IS NOT NULL AND scored_from IS NOT NULL"
            " ORDER BY shard, scored_from",
            JOB,
        )
    out: dict[int, list[tuple[datetime, datetime, str]]] = {}
    for r in rows:
        out.setdefault(r["shard"], []).append((r["scored_from"], r["scored_to"], r["scored_by"]))
    return out


def assert_scored_once(
    found: dict[int, list[tuple[datetime, datetime, str]]], start: datetime, end: datetime
) -> None:
    """Every shard's windows tile [start, end): each minute scored exactly once."""
    assert sorted(found) == list(range(SHARDS))
    for shard, spans in found.items():
        assert spans[0][0] == start, shard
        assert spans[-1][1] == end, shard
        for (_, prev_end, _), (nxt_start, _, _) in itertools.pairwise(spans):
            assert prev_end == nxt_start, (shard, spans)


async def spike_anomalies(store: Store) -> list[tuple[str, datetime]]:
    """(operation, detected at) of every outlier or threshold anomaly (one per scored cycle)."""
    found = await store.findings.anomalies_since(NOW - timedelta(hours=1), limit=100_000)
    return [
        (a.operation_type, a.detected_at) for a in found if a.kind is not AnomalyKind.DEGRADATION
    ]


def test_the_shard_hash_is_stable_and_walks_every_shard() -> None:
    # CRC-32, not Python's per-process randomised hash(): the same in every replica
    assert shard_of("svc0.endpoint_0", 64) == shard_of("svc0.endpoint_0", 64)
    assert [shard_of(op, 64) for op in ("a", "commit", "svc9.endpoint_299")] == [
        shard_of(op, 64) for op in ("a", "commit", "svc9.endpoint_299")
    ]
    assert len({shard_of(op, 64) for op in OPERATIONS}) == 64
    for owner in OWNERS:
        assert sorted(walk_order(owner, SHARDS)) == list(range(SHARDS))


@pytest.mark.slow
async def test_three_replicas_score_each_minute_of_each_operation_once(store: Store) -> None:
    await history(store)
    clock = FrozenClock(NOW)
    jobs = replicas(store, clock)
    await jobs[0].baselines(NOW, reason="first")
    cycles = 4
    for c in range(cycles):
        clock.set(NOW + c * MINUTE)
        await asyncio.gather(*(j.detect_once(clock.now()) for j in jobs))
    first = SPIKES[0]
    found = await windows(store)
    assert_scored_once(found, first, first + cycles * MINUTE)
    owners = {owner for spans in found.values() for _, _, owner in spans}
    assert owners == set(OWNERS), owners  # each replica took a share
    spikes = await spike_anomalies(store)
    assert len(spikes) == len(set(spikes))  # nothing stored twice
    flagged = {op for op, _ in spikes}
    assert len(flagged) >= 250, len(flagged)  # every shard was scored, not just some

    # replica-c dies holding every shard of the next cycle; the others skip them until the
    # lease (10 s of database time) ends, then take them over
    clock.set(NOW + cycles * MINUTE)
    slot = NOW.replace(second=0) + cycles * MINUTE
    for shard in range(SHARDS):
        assert await store.shards.claim(JOB, slot, shard, "replica-c", timedelta(seconds=10))
    alive = jobs[:2]
    assert await alive[0].detect_once(clock.now()) == []
    assert await store.shards.done(JOB, slot) == 0

    async def taken_over() -> bool:
        await asyncio.gather(*(j.detect_once(clock.now()) for j in alive))
        return await store.shards.done(JOB, slot) == SHARDS

    await eventually(taken_over, within=60.0, every=0.5)
    found = await windows(store)
    assert_scored_once(found, first, first + (cycles + 1) * MINUTE)
    last = {spans[-1][2] for spans in found.values()}
    assert last <= {"replica-a", "replica-b"}, last
    spikes = await spike_anomalies(store)
    assert len(spikes) == len(set(spikes))

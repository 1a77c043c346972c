"""A detection cycle is atomic and alerting idempotent, against real PostgreSQL: a cycle commits
its anomalies together with its watermark; alerting takes each pending anomaly in the
transaction that counts it. A cycle that fails between the two, re-run, alerts each anomaly
once; re-running a committed cycle adds nothing; racing cycles and racing alerting runs commit
once; correlations left pending alert once; replicas record a standing degradation once per
repeat interval."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bot import errors
from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.config import Settings
from bot.jobs import DETECT_WATERMARK, Jobs
from bot.models import AlertStatus, AnomalyKind, Severity
from bot.store import Store
from tests.factories import latency_history, make_anomaly, make_correlation

NOW = datetime(2026, 11, 27, 12, 0, 20, tzinfo=UTC)  # 20 s into the minute: 11:59 is complete
MINUTE = timedelta(minutes=1)
HOOK = {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"}}

# Every UPDATE of an alert silently does nothing, as when another writer changed it first: the
# alert service then raises StoreError ("changed concurrently") mid-way through alerting.
LOSE_ALERT_UPDATES = """
CREATE FUNCTION perfbot.test_lose_update() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER test_lose_update BEFORE UPDATE ON perfbot.alerts
    FOR EACH ROW EXECUTE FUNCTION perfbot.test_lose_update();
"""
KEEP_ALERT_UPDATES = "DROP TRIGGER test_lose_update ON perfbot.alerts"
# A new alert cannot be stored (e.g. the database refuses it mid-way through alerting).
REFUSE_NEW_ALERTS = """
CREATE FUNCTION perfbot.test_refuse() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
CREATE TRIGGER test_refuse BEFORE INSERT ON perfbot.alerts
    FOR EACH ROW EXECUTE FUNCTION perfbot.test_refuse();
"""
ACCEPT_NEW_ALERTS = "DROP TRIGGER test_refuse ON perfbot.alerts"


def replica(store: Store, **config: Any) -> tuple[Jobs, AlertService]:
    """The detection jobs and alert service of one bot process."""
    settings = Settings.load(channels=HOOK, **config)
    alerts = AlertService(store, settings, FrozenClock(NOW))
    return Jobs(store, settings, alerts), alerts


async def execute(store: Store, sql: str) -> None:
    async with store.connector.connection() as conn:
        await conn.execute(sql)


async def spike_history(store: Store) -> None:
    """Six hours of commit at 5 ms, six times slower from 11:59 on."""
    spike_from = datetime(2026, 11, 27, 11, 59, tzinfo=UTC)
    await store.metrics.add(
        latency_history(
            "commit",
            NOW - timedelta(hours=6),
            NOW + 5 * MINUTE,
            median_ms=5.0,
            per_minute=20,
            seed=1,
            factor=lambda t: 6.0 if t >= spike_from else 1.0,
        )
    )


async def commit_anomalies(store: Store) -> list[tuple[datetime, int | None]]:
    found = await store.findings.anomalies_since(NOW - timedelta(hours=1), operation="commit")
    return sorted((a.detected_at, a.alert_id) for a in found)


async def test_a_cycle_that_fails_before_alerting_is_alerted_once_on_the_next_run(
    store: Store,
) -> None:
    await spike_history(store)
    jobs, _ = replica(store)
    await jobs.detect_once(NOW - MINUTE)  # scores 11:58: quiet; the watermark is set
    [fired] = await jobs.detect_once(NOW)  # scores 11:59: fires the alert
    await execute(store, LOSE_ALERT_UPDATES)
    with pytest.raises(errors.StoreError, match="changed concurrently"):
        await jobs.detect_once(NOW + MINUTE)  # 12:00: committed, then alerting fails
    await execute(store, KEEP_ALERT_UPDATES)
    await jobs.detect_once(NOW + 2 * MINUTE)  # 12:01, and the 12:00 left pending

    [alert] = await store.alerts.with_status([AlertStatus.OPEN])
    minutes = [fired.detected_at + k * MINUTE for k in range(3)]
    # each minute scored once, each anomaly counted once, all linked to the alert
    assert await commit_anomalies(store) == [(m, alert.id) for m in minutes]
    assert alert.occurrences == 3
    assert await store.findings.pending_anomalies() == []


async def test_rerunning_a_committed_cycle_adds_nothing(store: Store) -> None:
    await spike_history(store)
    jobs, alerts = replica(store)
    await jobs.detect_once(NOW - MINUTE)
    stored = await jobs.detect_once(NOW)
    [alert] = await store.alerts.with_status([AlertStatus.OPEN])
    deliveries = await store.deliveries.for_alert(alert.id)

    assert await jobs.detect_once(NOW) == []
    assert await jobs.detect_once(NOW + timedelta(seconds=30)) == []
    # handing the cycle's anomalies to alerting again counts nothing
    assert await alerts.process_anomalies(stored, NOW + timedelta(seconds=30)) == []
    assert await alerts.process_pending(NOW + timedelta(seconds=30)) == []

    [again] = await store.alerts.with_status([AlertStatus.OPEN])
    assert again.occurrences == 1
    assert again.version == alert.version
    assert await store.deliveries.for_alert(alert.id) == deliveries
    assert await commit_anomalies(store) == [(stored[0].detected_at, alert.id)]


@pytest.mark.parametrize("old_mark", [None, NOW - 2 * MINUTE], ids=["first cycle", "later cycle"])
async def test_racing_cycles_commit_once(store: Store, old_mark: datetime | None) -> None:
    if old_mark is not None:
        await store.jobs.set_watermark(DETECT_WATERMARK, old_mark)
    end = NOW.replace(second=0)
    marks = {"commit": end, "merge": end - MINUTE}
    cycles = {op: [make_anomaly(operation_type=op, detected_at=end)] for op in marks}
    results = await asyncio.gather(
        *(
            store.findings.commit_cycle(cycles[op], DETECT_WATERMARK, old_mark, marks[op])
            for op in marks
        )
    )
    [winner] = [r for r in results if r is not None]
    op = winner[0].operation_type
    assert [a.operation_type for a in await store.findings.pending_anomalies()] == [op]
    assert await store.jobs.watermark(DETECT_WATERMARK) == marks[op]
    # a cycle that read the watermark before the winner moved it stores nothing
    assert await store.findings.commit_cycle(cycles[op], DETECT_WATERMARK, old_mark, end) is None


async def test_racing_alerting_runs_count_each_anomaly_once(store: Store) -> None:
    settings = Settings.load(channels=HOOK)
    services = [AlertService(store, settings, FrozenClock(NOW)) for _ in range(3)]
    anomalies = [make_anomaly(detected_at=NOW - k * MINUTE) for k in range(4)]
    await store.findings.commit_cycle(anomalies, DETECT_WATERMARK, None, NOW)
    touched = await asyncio.gather(*(s.process_pending(NOW) for s in services))
    assert sum(len(t) for t in touched) == 4
    [alert] = await store.alerts.with_status([AlertStatus.OPEN])
    assert alert.occurrences == 4
    assert await store.findings.pending_anomalies() == []


async def test_replicas_record_a_standing_degradation_once_per_repeat(store: Store) -> None:
    # commit's p99 rose 40 % a day ago and stays there: a standing WARNING degradation
    step = NOW - timedelta(days=1)
    await store.metrics.add(
        latency_history(
            "commit",
            NOW - timedelta(days=2, hours=1),
            NOW + 30 * MINUTE,
            median_ms=5.0,
            per_minute=4,
            seed=7,
            factor=lambda t: 1.4 if t >= step else 1.0,
        )
    )
    config: dict[str, Any] = {"degradation": {"lookback": "2d"}, "alerts": {"resolve_after": "15m"}}
    replicas = [replica(store, **config)[0] for _ in range(2)]  # repeat: 15 min / 3
    await store.rollups.refresh(NOW - MINUTE, initial_backfill=timedelta(days=3))
    await store.rollups.backfill()  # the history, rolled up before the first cycle
    for k in range(20):  # each minute's cycle runs on one replica or the other
        await replicas[k % 2].detect_once(NOW + k * MINUTE)

    recorded = [
        a
        for a in await store.findings.anomalies_since(NOW - MINUTE, limit=1000)
        if a.kind is AnomalyKind.DEGRADATION
    ]
    assert {(a.operation_type, a.severity) for a in recorded} == {("commit", Severity.WARNING)}
    first = NOW.replace(second=0)  # the first cycle scores 11:59, detected at 12:00
    assert sorted(a.detected_at for a in recorded) == [first + k * 5 * MINUTE for k in range(4)]


async def test_correlations_left_pending_by_a_failed_run_alert_once(store: Store) -> None:
    settings = Settings.load(channels=HOOK)
    alerts = AlertService(store, settings, FrozenClock(NOW))
    pairs = [
        make_correlation("merge_base_find", "merge_branches", 0.95, analyzed_at=NOW),
        make_correlation("merge_branches", "merge_conflict_detect", 0.92, analyzed_at=NOW),
    ]
    await store.findings.add_correlations(pairs)
    await execute(store, REFUSE_NEW_ALERTS)
    with pytest.raises(asyncpg.exceptions.RaiseError):
        await alerts.process_pending(NOW)
    await execute(store, ACCEPT_NEW_ALERTS)
    [bottleneck] = await alerts.process_pending(NOW + MINUTE)
    assert await alerts.process_pending(NOW + 2 * MINUTE) == []
    assert bottleneck.occurrences == 1
    assert [a.id for a in await store.alerts.with_status([AlertStatus.OPEN])] == [bottleneck.id]
    linked = await store.findings.correlations_since(NOW - MINUTE)
    assert sorted(c.alert_id or 0 for c in linked) == [bottleneck.id, bottleneck.id]
    assert await store.findings.pending_correlations() == []

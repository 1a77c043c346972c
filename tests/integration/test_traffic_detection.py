"""Traffic drops and a silent source, through the real detection cycle on PostgreSQL: an
operation that stops reporting is a WARNING `traffic_drop` within three cycles, the whole source
going quiet one CRITICAL `source_silent` (and no per-operation drops), and the alert stops being
renewed when traffic returns, so that it auto-resolves like the others."""

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.config import Settings
from bot.jobs import Jobs
from bot.models import AlertKind, AlertStatus, AnomalyKind, Severity
from bot.store import Store
from tests.factories import latency_history

STOP = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOOK = {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"}}
HISTORY = timedelta(days=7, hours=2)


def _jobs(store: Store, **config: Any) -> tuple[Jobs, AlertService]:
    settings = Settings.load(channels=HOOK, **config)
    alerts = AlertService(store, settings, FrozenClock(STOP))
    return Jobs(store, settings, alerts), alerts


async def _history(store: Store, stops: dict[str, datetime], resume: datetime) -> None:
    """A week of commit (8 a minute) and merge (2 a minute), each silent from its stop until
    `resume`, then on for 10 more minutes."""
    for seed, (op, rate) in enumerate((("commit", 8), ("merge", 2))):
        stop = stops.get(op, resume)
        for start, end in ((STOP - HISTORY, stop), (resume, resume + 10 * MINUTE)):
            if end > start:
                await store.metrics.add(
                    latency_history(op, start, end, median_ms=5.0, per_minute=rate, seed=seed)
                )
    await store.rollups.refresh(STOP - MINUTE, initial_backfill=HISTORY + timedelta(hours=1))
    await store.rollups.backfill()


def _at(k: int) -> datetime:
    """The k-th cycle after the stop (cycles score up to the minute before, 5 s settle)."""
    return STOP + k * MINUTE + timedelta(seconds=20)


async def _kinds(store: Store) -> list[tuple[datetime, str, AnomalyKind, Severity]]:
    found = await store.findings.anomalies_since(STOP - 5 * MINUTE, limit=1000)
    return sorted((a.detected_at, a.operation_type, a.kind, a.severity) for a in found)


async def test_an_operation_that_stops_is_a_traffic_drop_within_three_cycles(
    store: Store,
) -> None:
    resume = STOP + 8 * MINUTE
    await _history(store, {"commit": STOP}, resume)
    jobs, _alerts = _jobs(store)
    for k in range(4):
        await jobs.detect_once(_at(k))
    drops = [f for f in await _kinds(store) if f[2] is AnomalyKind.TRAFFIC_DROP]
    assert drops, await _kinds(store)
    first_at, op, _, severity = drops[0]
    assert (op, severity) == ("commit", Severity.WARNING)
    assert first_at <= STOP + 3 * MINUTE
    open_ = await store.alerts.with_status([AlertStatus.OPEN])
    [alert] = [a for a in open_ if a.kind is AlertKind.TRAFFIC_DROP]
    assert alert.operation_types == ("commit",)
    assert alert.details["usual_per_min"] > 5
    assert "traffic drop" in alert.title

    # Traffic returns at `resume`: the drop is no longer found, and the alert, not renewed,
    # auto-resolves after alerts.resolve_after like any other.
    for k in range(4, 17):
        await jobs.detect_once(_at(k))
    late = [f for f in await _kinds(store) if f[2] is AnomalyKind.TRAFFIC_DROP]
    assert max(f[0] for f in late) < resume + 3 * MINUTE
    resolve_at = max(f[0] for f in late) + Settings.load(channels=HOOK).alerts.resolve_after
    await jobs.escalate(resolve_at + MINUTE)
    after = await store.alerts.get(alert.id)
    assert after is not None
    assert after.status is AlertStatus.RESOLVED


async def test_a_busy_silent_source_is_one_critical_alert_after_two_quiet_minutes(
    store: Store,
) -> None:
    # 10 requests a minute in all: two minutes without any row (20 due) are a chance of 2e-9,
    # so the source is silent then, long before `silence_after` (5m here).
    await _history(store, {"commit": STOP, "merge": STOP}, STOP + timedelta(hours=1))
    jobs, _ = _jobs(store, detection={"silence_after": "5m"})
    for k in range(7):
        await jobs.detect_once(_at(k))
    found = await _kinds(store)
    silent = [f for f in found if f[2] is AnomalyKind.SOURCE_SILENT]
    assert silent, found
    assert silent[0][0] == STOP + 2 * MINUTE
    assert {(f[1], f[3]) for f in silent} == {("*", Severity.CRITICAL)}
    # One alert for the source, none per operation (one quiet minute is no stop yet).
    assert not [f for f in found if f[2] is AnomalyKind.TRAFFIC_DROP]

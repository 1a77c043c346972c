"""A low-rate operation (one request every 5 minutes: 3 in the robust detector's 15-minute
window, fewer than its 5-sample minimum) is scored through the real detection cycle on
PostgreSQL, on the pooled 30- and 60-minute windows: a x4 shift lasting 30 minutes is found, the
same traffic without it is not."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.config import Settings
from bot.jobs import Jobs
from bot.models import AnomalyKind
from bot.store import Store
from tests.factories import latency_history

SHIFT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOOK = {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"}}


@pytest.mark.parametrize(("factor", "found"), [(4.0, True), (1.0, False)])
async def test_a_low_rate_shift_is_found_on_pooled_windows(
    store: Store, factor: float, found: bool
) -> None:
    rows = latency_history(
        "lock_acquire",
        SHIFT - timedelta(hours=26),
        SHIFT + 30 * MINUTE,
        median_ms=5.0,
        per_minute=1,
        seed=3,
        factor=lambda t: factor if t >= SHIFT else 1.0,
    )
    await store.metrics.add([m for i, m in enumerate(rows) if i % 5 == 0])
    await store.rollups.refresh(SHIFT - MINUTE, initial_backfill=timedelta(hours=27))
    await store.rollups.backfill()
    settings = Settings.load(channels=HOOK)
    jobs = Jobs(store, settings, AlertService(store, settings, FrozenClock(SHIFT)))
    for k in range(31):
        await jobs.detect_once(SHIFT + k * MINUTE + timedelta(seconds=20))
    anomalies = await store.findings.anomalies_since(SHIFT - MINUTE, limit=1000)
    spikes = [
        a
        for a in anomalies
        if a.operation_type == "lock_acquire"
        and a.kind in (AnomalyKind.STATISTICAL, AnomalyKind.THRESHOLD)
    ]
    assert bool(spikes) is found, anomalies
    if found:  # on a pooled window: the 15-minute one never has 5 samples
        assert any(a.window_end - a.window_start >= timedelta(minutes=30) for a in spikes)

"""Anomalies, correlations and baselines round-trip through the store."""

from datetime import timedelta

from bot.models import (
    Anomaly,
    AnomalyKind,
    Baseline,
    BaselineChange,
    BottleneckType,
    Correlation,
    Severity,
)
from bot.store import Store
from tests.factories import T0, make_correlation


def anomaly(op: str, severity: Severity, minutes_ago: int) -> Anomaly:
    at = T0 - timedelta(minutes=minutes_ago)
    return Anomaly(
        operation_type=op,
        kind=AnomalyKind.STATISTICAL,
        severity=severity,
        z_score=4.2,
        value_ms=150.5,
        outliers=3,
        samples=40,
        window_start=at - timedelta(minutes=1),
        window_end=at,
        detected_at=at,
        details={"detector": "robust"},
    )


def baseline(op: str, p99: float) -> Baseline:
    return Baseline(
        operation_type=op,
        sample_count=1000,
        mean_ms=10,
        stddev_ms=3,
        min_ms=1,
        max_ms=90,
        p50_ms=9,
        p75_ms=12,
        p90_ms=15,
        p95_ms=20,
        p99_ms=p99,
        mad_ms=2,
        multiplier=2.5,
        window_start=T0 - timedelta(days=7),
        window_end=T0,
        computed_at=T0,
    )


async def test_anomalies_filter_by_time_operation_and_severity(store: Store) -> None:
    stored = await store.findings.add_anomalies(
        [
            anomaly("commit", Severity.CRITICAL, 5),
            anomaly("commit", Severity.WARNING, 50),
            anomaly("merge", Severity.INFO, 1),
        ]
    )
    assert all(a.id for a in stored)
    since = T0 - timedelta(hours=1)
    assert [a.severity for a in await store.findings.anomalies_since(since)] == [
        "INFO",
        "CRITICAL",
        "WARNING",
    ]
    assert len(await store.findings.anomalies_since(since, operation="commit")) == 2
    assert len(await store.findings.anomalies_since(since, min_severity=Severity.CRITICAL)) == 1
    assert await store.findings.degraded_operations(since) == {"commit"}
    [first] = stored[:1]
    assert (await store.findings.anomalies_since(since, operation="commit"))[0] == first


async def test_correlations_keep_the_latest_per_pair(store: Store) -> None:
    def corr(r: float, minutes_ago: int) -> Correlation:
        at = T0 - timedelta(minutes=minutes_ago)
        return Correlation(
            operation_a="merge_base_find",
            operation_b="merge_branches",
            r=r,
            n=120,
            confidence=1.0,
            bottleneck=BottleneckType.MERGE_PIPELINE_SATURATION,
            severity=Severity.CRITICAL,
            recommendations=("Add merge workers",),
            window_start=at - timedelta(hours=24),
            window_end=at,
            analyzed_at=at,
        )

    await store.findings.add_correlations([corr(0.8, 10), corr(0.95, 5)])
    [latest] = await store.findings.correlations_since(T0 - timedelta(hours=1))
    assert latest.r == 0.95
    assert latest.recommendations == ("Add merge workers",)


async def test_baselines_replace_and_keep_history(store: Store) -> None:
    first = baseline("commit", 40.0)
    change = BaselineChange(
        operation_type="commit",
        old_p99_ms=None,
        new_p99_ms=40.0,
        change_pct=None,
        sample_count=1000,
        replaced=True,
        reason="first",
    )
    assert await store.findings.save_baselines([(first, change, None)], T0) == 1
    old = (await store.findings.active_baselines())["commit"]
    kept = BaselineChange(
        operation_type="commit",
        old_p99_ms=40.0,
        new_p99_ms=41.0,
        change_pct=2.5,
        sample_count=1000,
        replaced=False,
        reason="scheduled",
    )
    moved = BaselineChange(
        operation_type="commit",
        old_p99_ms=40.0,
        new_p99_ms=50.0,
        change_pct=25.0,
        sample_count=1000,
        replaced=True,
        reason="scheduled",
    )
    assert await store.findings.save_baselines([(baseline("commit", 41.0), kept, old)], T0) == 0
    assert (await store.findings.active_baselines())["commit"].p99_ms == 40.0
    assert await store.findings.save_baselines([(baseline("commit", 50.0), moved, old)], T0) == 1
    assert (await store.findings.active_baselines())["commit"].p99_ms == 50.0
    history = await store.findings.baseline_history("commit")
    assert sorted((h.reason, h.replaced) for h in history) == [
        ("first", True),
        ("scheduled", False),
        ("scheduled", True),
    ]


async def test_spike_hours_are_the_hours_spike_windows_touched(store: Store) -> None:
    hour = T0.replace(minute=0, second=0, microsecond=0)

    def found(op: str, kind: AnomalyKind, start: timedelta, end: timedelta, ago: int) -> Anomaly:
        return anomaly(op, Severity.WARNING, ago).model_copy(
            update={"kind": kind, "window_start": hour + start, "window_end": hour + end}
        )

    await store.findings.add_anomalies(
        [
            # 15 minutes across an hour boundary: both hours
            found(
                "commit", AnomalyKind.STATISTICAL, timedelta(minutes=-5), timedelta(minutes=10), 1
            ),
            # ending exactly on the hour: only the hour before
            found("merge", AnomalyKind.THRESHOLD, timedelta(minutes=-15), timedelta(0), 2),
            found("merge", AnomalyKind.COMBINED, timedelta(minutes=-15), timedelta(0), 3),
            # not spikes, or detected before the cut-off
            found("get_history", AnomalyKind.DEGRADATION, timedelta(days=-7), timedelta(0), 4),
            found(
                "rollback",
                AnomalyKind.STATISTICAL,
                timedelta(minutes=-90),
                timedelta(minutes=-80),
                300,
            ),
        ]
    )
    hours = await store.findings.spike_hours(T0 - timedelta(hours=1))
    assert hours == {
        "commit": {hour - timedelta(hours=1), hour},
        "merge": {hour - timedelta(hours=1)},
    }


async def test_a_large_batch_of_anomalies_keeps_each_its_own_id(store: Store) -> None:
    found = [
        anomaly(f"op_{i % 7}", Severity.WARNING, 1).model_copy(
            update={"value_ms": float(i), "details": {"i": i}}
        )
        for i in range(2345)  # three statements
    ]
    stored = await store.findings.add_anomalies(found)
    assert [a.model_copy(update={"id": None}) for a in stored] == found
    assert len({a.id for a in stored}) == len(found)
    read = await store.findings.anomalies_since(T0 - timedelta(hours=1), limit=5000)
    assert {a.id: a for a in read} == {a.id: a for a in stored}
    assert len(await store.findings.pending_anomalies(limit=5000)) == len(found)


async def test_findings_recorded_without_alerting_are_not_pending(store: Store) -> None:
    await store.findings.add_anomalies([anomaly("commit", Severity.INFO, 1)], pending=False)
    [detected] = await store.findings.add_anomalies([anomaly("merge", Severity.WARNING, 1)])
    assert await store.findings.pending_anomalies() == [detected]
    await store.findings.add_correlations(
        [make_correlation("merge", "merge_branches", analyzed_at=T0)], pending=False
    )
    [pending] = await store.findings.add_correlations(
        [make_correlation("commit", "branch_create", analyzed_at=T0)]
    )
    assert await store.findings.pending_correlations() == [pending]


async def test_active_baselines_are_read_again_when_another_process_changes_them(
    store: Store, db_url: str
) -> None:
    """A process keeps the active baselines between cycles, but sees another process's
    replacement, a new operation's first baseline and a retirement (another source)."""
    other = await Store.open(db_url, max_size=2)
    try:

        def first(op: str, p99: float) -> tuple[Baseline, BaselineChange, None]:
            change = BaselineChange(
                operation_type=op,
                old_p99_ms=None,
                new_p99_ms=p99,
                change_pct=None,
                sample_count=1000,
                replaced=True,
                reason="first",
            )
            return baseline(op, p99), change, None

        await store.findings.save_baselines([first("commit", 40.0)], T0)
        assert {k: b.p99_ms for k, b in (await store.findings.active_baselines()).items()} == {
            "commit": 40.0
        }
        old = (await other.findings.active_baselines())["commit"]
        moved = first("commit", 50.0)[1].model_copy(update={"old_p99_ms": 40.0})
        await other.findings.save_baselines([(baseline("commit", 50.0), moved, old)], T0)
        assert (await store.findings.active_baselines())["commit"].p99_ms == 50.0
        await other.findings.save_baselines([first("merge", 25.0)], T0)
        assert sorted(await store.findings.active_baselines()) == ["commit", "merge"]
        async with other.connector.pool.acquire() as conn:
            await conn.execute("UPDATE perfbot.baselines SET active = false WHERE active")
        assert await store.findings.active_baselines() == {}
    finally:
        await other.close()

"""A small, realistic world for command and chat tests: metrics and rollups for a few pgGit
operations, baselines, anomalies that fired alerts, a correlated pair, job runs and merges."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts import AlertService
from bot.models import (
    Alert,
    Baseline,
    BaselineChange,
    JobStatus,
    MergeRecord,
    MergeStatus,
    Metric,
    Severity,
)
from bot.store import Store
from tests.factories import make_anomaly, make_correlation

OPERATIONS = ("commit", "merge", "merge_branches", "get_history")


@dataclass(frozen=True)
class World:
    alerts: dict[str, Alert]  # by operation


def baseline(op: str, p99: float, now: datetime) -> Baseline:
    return Baseline(
        operation_type=op,
        sample_count=500,
        mean_ms=p99 / 3,
        stddev_ms=p99 / 10,
        min_ms=1.0,
        max_ms=p99 * 2,
        p50_ms=p99 / 3,
        p75_ms=p99 / 2,
        p90_ms=p99 * 0.7,
        p95_ms=p99 * 0.8,
        p99_ms=p99,
        multiplier=2.5,
        window_start=now - timedelta(days=7),
        window_end=now,
        computed_at=now - timedelta(hours=3),
    )


async def seed(store: Store, service: AlertService, now: datetime) -> World:
    metrics = [
        Metric(
            operation_type=op,
            duration_ms=10.0 + i % 7 + 5 * k,
            recorded_at=now - timedelta(minutes=5 * i),
        )
        for k, op in enumerate(OPERATIONS)
        for i in range(1, 200)
    ]
    await store.metrics.add(metrics)
    await store.rollups.refresh(now, initial_backfill=timedelta(days=8))
    await store.rollups.backfill()
    await store.findings.save_baselines(
        [
            (
                baseline(op, 40.0 + 10 * k, now),
                BaselineChange(
                    operation_type=op,
                    old_p99_ms=None,
                    new_p99_ms=40.0 + 10 * k,
                    change_pct=None,
                    sample_count=500,
                    replaced=True,
                    reason="first",
                ),
                None,
            )
            for k, op in enumerate(OPERATIONS)
        ],
        now - timedelta(hours=3),
    )
    stored = await store.findings.add_anomalies(
        [
            make_anomaly(
                operation_type="commit",
                severity=Severity.WARNING,
                # inside alerts.resolve_after (30 min): a live bot's escalate tick must not
                # auto-resolve the seeded alert while a test is still using it
                detected_at=now - timedelta(minutes=25),
            ),
            make_anomaly(
                operation_type="merge",
                severity=Severity.CRITICAL,
                z_score=5.2,
                value_ms=900.0,
                detected_at=now - timedelta(minutes=20),
            ),
        ]
    )
    fired = await service.process_anomalies(stored, now - timedelta(minutes=20))
    await store.findings.add_anomalies(
        [
            make_anomaly(
                operation_type="get_history",
                severity=Severity.INFO,
                detected_at=now - timedelta(hours=30),
            )
        ],
        pending=False,  # recorded below alerts.min_severity, never alerted
    )
    await store.findings.add_correlations(
        [
            make_correlation(
                "merge", "merge_branches", r=0.93, analyzed_at=now - timedelta(minutes=10)
            )
        ],
        pending=False,  # an analysis shown by /perf bottlenecks, never alerted
    )
    run = await store.jobs.claim("escalate", now - timedelta(minutes=1), "test", now)
    assert run is not None
    await store.jobs.finish(run, JobStatus.SUCCESS, now, 12.5, 0, None)
    run = await store.jobs.claim(
        "cleanup", now - timedelta(days=3), "test", now - timedelta(days=3)
    )
    assert run is not None
    await store.jobs.finish(run, JobStatus.FAILED, now - timedelta(days=3), 40.0, None, "disk full")
    await store.metrics.add_merges(
        [
            MergeRecord(
                source_branch=f"feature-{i % 3}",
                target_branch="main",
                status=MergeStatus.CONFLICT if i % 4 == 0 else MergeStatus.SUCCESS,
                conflicts=2 if i % 4 == 0 else 0,
                auto_resolved=1 if i % 4 == 0 else 0,
                base_find_ms=5.0 + i,
                conflict_detect_ms=20.0 + i,
                auto_resolve_ms=3.0,
                total_ms=40.0 + 3 * i,
                started_at=now - timedelta(hours=2, minutes=i),
            )
            for i in range(20)
        ]
    )
    return World(alerts={a.operation_types[0]: a for a in fired})

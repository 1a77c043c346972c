"""The scheduled jobs against real PostgreSQL: a spike in fresh metrics becomes an anomaly and
an alert; baselines are computed and kept; correlated merge operations become one bottleneck."""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.config import Settings
from bot.jobs import Jobs
from bot.models import AlertStatus, Metric, Severity
from bot.store import Store
from tests.factories import latency_history

NOW = datetime(2026, 11, 27, 12, 0, 20, tzinfo=UTC)  # 20 s into the minute: 11:59 is complete


def history(
    op: str,
    start: datetime,
    end: datetime,
    per_minute: int,
    median_ms: float,
    seed: int,
    factor=None,
) -> list[Metric]:
    return latency_history(
        op, start, end, median_ms=median_ms, per_minute=per_minute, seed=seed, factor=factor
    )


async def roll_up(jobs: Jobs, now: datetime) -> None:
    """The first refresh queues the history; the back-fill rolls it all up."""
    await jobs.refresh(now)
    await jobs.backfill(now, budget=None)


@pytest.fixture
def jobs(store: Store) -> Jobs:
    settings = Settings.load(channels={"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"}})
    return Jobs(store, settings, AlertService(store, settings, FrozenClock(NOW)))


async def test_a_spike_becomes_an_anomaly_and_an_alert(store: Store, jobs: Jobs) -> None:
    start = NOW - timedelta(hours=6)
    spike_from = datetime(2026, 11, 27, 11, 59, tzinfo=UTC)
    await store.metrics.add(
        history(
            "commit", start, NOW, 20, 5.0, seed=1, factor=lambda t: 6.0 if t >= spike_from else 1.0
        )
        + history("get_history", start, NOW, 20, 12.0, seed=2)
    )
    await roll_up(jobs, NOW)
    found = await jobs.detect_once(NOW)
    spikes = [a for a in found if a.operation_type == "commit"]
    assert len(spikes) == 1
    assert spikes[0].severity >= Severity.WARNING
    assert spikes[0].window_end == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert not [a for a in found if a.operation_type == "get_history"]
    [alert] = await store.alerts.with_status([AlertStatus.OPEN])
    assert alert.operation_types == ("commit",)
    assert (await store.findings.active_baselines()).keys() == {"commit", "get_history"}
    # The same minute is never scored twice.
    assert await jobs.detect_once(NOW + timedelta(seconds=10)) == []


async def test_baselines_are_kept_unless_p99_moves(store: Store, jobs: Jobs) -> None:
    await store.metrics.add(history("commit", NOW - timedelta(days=2), NOW, 5, 5.0, seed=3))
    await roll_up(jobs, NOW)
    first = await jobs.recalculate(NOW)
    assert [c.reason for _, c, _ in first] == ["first"]
    again = await jobs.recalculate(NOW + timedelta(minutes=1))
    assert [(c.replaced, c.reason) for _, c, _ in again] == [(False, "scheduled")]
    forced = await jobs.recalculate(NOW + timedelta(minutes=2), force=True)
    assert [(c.replaced, c.reason) for _, c, _ in forced] == [(True, "force")]


async def test_correlated_merge_slowdown_is_one_bottleneck_alert(store: Store, jobs: Jobs) -> None:
    start = NOW - timedelta(hours=3)
    incident = NOW - timedelta(minutes=40)

    def slow(t: datetime) -> float:
        if t < incident:
            return 1.0
        return 1.0 + 3.0 * min(1.0, (t - incident).total_seconds() / 1200)

    ops = {"merge_base_find": 20.0, "merge_conflict_detect": 30.0, "merge_branches": 60.0}
    metrics = [
        m
        for i, (op, ms) in enumerate(ops.items())
        for m in history(op, start, NOW, 10, ms, seed=10 + i, factor=slow)
    ]
    await store.metrics.add(metrics)
    await roll_up(jobs, NOW)
    await jobs.detect_once(NOW)
    assert set(ops) <= await store.findings.degraded_operations(NOW - timedelta(minutes=10))
    found = await jobs.correlate_once(NOW)
    assert found
    assert {c.bottleneck for c in found} == {"MERGE_PIPELINE_SATURATION"}
    bottlenecks = [
        a for a in await store.alerts.with_status([AlertStatus.OPEN]) if a.kind == "bottleneck"
    ]
    assert len(bottlenecks) == 1
    assert set(bottlenecks[0].operation_types) == set(ops)


def run_cli(db_url: str, *args: str) -> "subprocess.CompletedProcess[str]":
    env = {**os.environ, "PERFBOT_DATABASE_URL": db_url}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, timeout=120
    )


async def test_cli_detect_correlate_and_baselines(store: Store, db_url: str) -> None:
    """A fresh database with an incident 20 minutes old: `detect --once` says it scored only the
    last minute (no anomalies); `--since 2h` catches up and finds it, with its alert ids. Which
    minutes the CLI scores depends on the wall clock, so the incident sits well inside the
    scored span whatever the second."""
    now = datetime.now(UTC)
    spike_from = floor_minute(now) - timedelta(minutes=22)
    spike_to = spike_from + timedelta(minutes=6)
    await store.metrics.add(
        history(
            "commit",
            floor_minute(now) - timedelta(hours=4),  # minute-aligned: the spike fills whole minutes
            floor_minute(now) + timedelta(minutes=2),
            20,
            5.0,
            seed=4,
            factor=lambda t: 8.0 if spike_from <= t < spike_to else 1.0,
        )
    )
    rebuild = run_cli(db_url, "rollups", "rebuild")
    assert rebuild.returncode == 0, rebuild.stderr
    assert "nothing is pending" in rebuild.stdout
    assert await store.rollups.backfill_horizon() is None
    recalc = run_cli(db_url, "baselines", "recalc", "--json")
    assert recalc.returncode == 0, recalc.stderr
    [baseline] = json.loads(recalc.stdout)
    assert baseline["operation_type"] == "commit"
    assert baseline["change"]["reason"] == "first"

    last_minute = run_cli(db_url, "detect", "--once")
    assert last_minute.returncode == 0, last_minute.stderr
    assert re.search(
        r"scored (\d\d:\d\d)–\d\d:\d\d UTC, 1 operation, 20 samples", last_minute.stdout
    )
    assert "no anomalies" in last_minute.stdout

    caught_up = run_cli(db_url, "detect", "--once", "--since", "2h")
    assert caught_up.returncode == 0, caught_up.stderr
    [(first, last)] = re.findall(
        r"scored (\d\d:\d\d)–(\d\d:\d\d) UTC, 1 operation, [\d,]+ samples", caught_up.stdout
    )
    assert (clock_minutes(last) - clock_minutes(first)) % (24 * 60) == 120  # 2 hours
    rows = await store.findings.anomalies_since(spike_from, operation="commit")
    assert rows, caught_up.stdout
    assert {a.alert_id for a in rows} != {None}
    for alert_id in {a.alert_id for a in rows}:
        assert f"#{alert_id}" in caught_up.stdout

    again = run_cli(db_url, "detect", "--once", "--since", "30m", "--json")
    assert again.returncode == 0, again.stderr
    anomalies = json.loads(again.stdout)
    assert {a["operation_type"] for a in anomalies} == {"commit"}
    fields = {
        "operation_type",
        "kind",
        "severity",
        "z_score",
        "value_ms",
        "baseline_p99_ms",
        "degradation_pct",
        "outliers",
        "detected_at",
        "alert_id",
    }
    assert fields <= set(anomalies[0])
    # found again, the incident updates the alerts the catch-up opened
    assert {a["alert_id"] for a in anomalies} <= {a.alert_id for a in rows}
    correlated = run_cli(db_url, "correlate", "--once")
    assert correlated.returncode == 0, correlated.stderr
    assert "no correlated slowdowns" in correlated.stdout


def clock_minutes(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)


def floor_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)

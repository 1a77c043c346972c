from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.analysis.merges import hot_spots
from bot.demo.incidents import Incident, IncidentKind, plan_incidents
from bot.demo.operations import MERGE_PIPELINE, OPERATION_NAMES, OPERATIONS
from bot.demo.workload import Workload

T0 = datetime(2026, 3, 2, tzinfo=UTC)
SEED_TYPICAL_MS = {
    "commit": 5.0,
    "merge": 50.0,
    "rollback": 10.0,
    "branch_create": 2.0,
    "branch_delete": 1.0,
    "get_objects": 1.0,
    "get_history": 5.0,
    "get_branches": 0.5,
    "get_commits": 2.0,
    "conflict_detection": 20.0,
    "auto_resolution": 15.0,
}


def test_the_33_operation_types_with_the_seed_latencies():
    assert len(set(OPERATION_NAMES)) == 33
    typical = {spec.name: spec.typical_ms for spec in OPERATIONS}
    assert {name: typical[name] for name in SEED_TYPICAL_MS} == SEED_TYPICAL_MS
    assert set(MERGE_PIPELINE) <= set(OPERATION_NAMES)


def test_history_is_sorted_in_range_and_at_the_configured_daily_mean_rate():
    samples = Workload(seed=1, rate_per_op_per_min=5).history(T0, T0 + timedelta(days=1))
    assert np.all(np.diff(samples.timestamp.astype(np.int64)) >= 0)
    assert samples.timestamp[0] >= np.datetime64("2026-03-02T00:00")
    assert samples.timestamp[-1] < np.datetime64("2026-03-03T00:00")
    assert len(samples) == pytest.approx(5 * 1440 * 33, rel=0.02)


@pytest.mark.parametrize(("hour", "traffic"), [(14, 1.5), (2, 0.5)])
def test_traffic_follows_the_day(hour, traffic):
    start = T0 + timedelta(hours=hour)
    samples = Workload(seed=1, rate_per_op_per_min=10).history(start, start + timedelta(minutes=10))
    assert len(samples) == pytest.approx(10 * 10 * 33 * traffic, rel=0.1)


def test_streamed_minutes_equal_the_history():
    workload = Workload(seed=3)
    history = workload.history(T0 + timedelta(minutes=58), T0 + timedelta(minutes=63))
    stream = workload.stream(T0 + timedelta(minutes=58, seconds=10))
    minutes = [next(stream) for _ in range(5)]
    assert np.array_equal(np.concatenate([m.duration_ms for m in minutes]), history.duration_ms)


@pytest.mark.parametrize(("seed", "same"), [(5, True), (6, False)])
def test_seeded(seed, same):
    a = Workload(seed=5).history(T0, T0 + timedelta(minutes=10))
    b = Workload(seed=seed).history(T0, T0 + timedelta(minutes=10))
    assert (len(a) == len(b) and np.array_equal(a.duration_ms, b.duration_ms)) is same


def test_latencies_are_heavy_tailed_around_the_typical_value():
    samples = Workload(seed=2, rate_per_op_per_min=50).history(T0, T0 + timedelta(hours=6))
    commit = samples.duration_ms[samples.op == OPERATION_NAMES.index("commit")]
    assert np.median(commit) == pytest.approx(5.0, rel=0.3)
    assert commit.max() / np.percentile(commit, 99) > 3  # Pareto tail beyond the body


@pytest.mark.parametrize(
    ("kind", "offset_min", "factor"),
    [
        (IncidentKind.SPIKE, -1, 1.0),
        (IncidentKind.SPIKE, 0, 5.0),
        (IncidentKind.SPIKE, 60, 1.0),  # end is exclusive
        (IncidentKind.LEVEL_SHIFT, 30, 5.0),
        (IncidentKind.DEGRADATION, 0, 1.0),
        (IncidentKind.DEGRADATION, 30, 3.0),  # halfway up the ramp
        (IncidentKind.MERGE_PIPELINE, 0, 5.0),  # the wobble starts at its midpoint
        (IncidentKind.MERGE_PIPELINE, 2.5, 1 + 4 * (1 + 0.5 * np.sin(2 * np.pi * 120 / 600))),
    ],
)
def test_incident_factors(kind, offset_min, factor):
    incident = Incident(kind, ("commit",), T0, T0 + timedelta(hours=1), 5.0)
    at = np.array([T0.timestamp() + 60 * offset_min])
    assert incident.factor(at)[0] == pytest.approx(factor)


def test_incidents_slow_only_their_operations():
    spike = Incident(IncidentKind.SPIKE, ("commit",), T0, T0 + timedelta(minutes=30), 10.0)
    clean = Workload(seed=4).history(T0, T0 + timedelta(minutes=30))
    hit = Workload(seed=4, incidents=(spike,)).history(T0, T0 + timedelta(minutes=30))
    commit = clean.op == OPERATION_NAMES.index("commit")
    assert np.allclose(hit.duration_ms[commit], 10 * clean.duration_ms[commit])
    assert np.array_equal(hit.duration_ms[~commit], clean.duration_ms[~commit])


def test_planned_incidents():
    plan = plan_incidents(T0, 7, seed=1)
    assert plan == plan_incidents(T0, 7, seed=1)
    counts = {kind: sum(i.kind is kind for i in plan) for kind in IncidentKind}
    assert counts == {
        IncidentKind.SPIKE: 28,
        IncidentKind.LEVEL_SHIFT: 7,
        IncidentKind.MERGE_PIPELINE: 7,
        IncidentKind.DEGRADATION: 2,
        IncidentKind.TRAFFIC_STOP: 0,  # scripted only (the demo), never planned
    }
    assert all(T0 <= i.start < i.end <= T0 + timedelta(days=7) for i in plan)
    assert all(
        i.operations == MERGE_PIPELINE for i in plan if i.kind is IncidentKind.MERGE_PIPELINE
    )


def test_merges_have_conflict_hot_spots():
    merges = Workload(seed=1).merges(T0, T0 + timedelta(days=1))
    assert len(merges) == pytest.approx(40 * 24, rel=0.1)
    assert all(T0 <= m.started_at < T0 + timedelta(days=1) for m in merges)
    top = hot_spots(merges)[0]
    assert (top.source, top.target) == ("feature/payments", "develop")


@pytest.mark.parametrize(("op", "inside", "outside"), [("commit", 0, True), ("merge", True, True)])
def test_a_traffic_stop_removes_its_operations_samples_only(op, inside, outside):
    start = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    stop = Incident(
        IncidentKind.TRAFFIC_STOP,
        ("commit",),
        start + timedelta(minutes=10),
        start + timedelta(minutes=25),
        1.0,
    )
    workload = Workload(seed=2, incidents=(stop,))
    samples = workload.history(start, start + timedelta(hours=1))
    code = samples.operations.index(op)
    mine = samples.timestamp[samples.op == code]
    lo, hi = (
        np.datetime64(stop.start.replace(tzinfo=None)),
        np.datetime64(stop.end.replace(tzinfo=None)),
    )
    during = int(((mine >= lo) & (mine < hi)).sum())
    assert (during > 0) if inside is True else during == inside
    assert bool(((mine < lo) | (mine >= hi)).sum() > 0) is outside

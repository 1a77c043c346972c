from datetime import timedelta

import pytest

from bot.analysis.bottleneck import RECOMMENDATIONS, classify, classify_group, clusters
from bot.models import BottleneckType, Correlation, Severity
from tests.unit.analysis.factories import NOW

B = BottleneckType


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("merge_base_find", "merge_branches", B.MERGE_PIPELINE_SATURATION),
        ("merge", "merge_branches", B.MERGE_PIPELINE_SATURATION),  # plain merge counts (LIKE bug)
        ("merge", "apply_data_merge", B.MERGE_PIPELINE_SATURATION),  # pgGit's merge steps
        ("conflict_detection", "auto_resolution", B.MERGE_PIPELINE_SATURATION),
        ("merge_conflict_detect", "conflict_detection", B.MERGE_PIPELINE_SATURATION),
        ("conflict_detection", "commit", B.SHARED_RESOURCE_CONTENTION),
        ("data_merge_report", "merge", B.SHARED_RESOURCE_CONTENTION),  # not a step
        ("commit", "branch_create", B.OBJECT_STORAGE_IO),
        ("commit", "branch_delete", B.SHARED_RESOURCE_CONTENTION),
        ("get_history", "get_object_timeline", B.QUERY_CACHE_PRESSURE),
        ("get_history", "get_commits", B.SHARED_RESOURCE_CONTENTION),
        ("rollback_commit", "rollback_cascade", B.TRANSACTION_LOG_SATURATION),
        ("rollback_commit", "commit", B.SHARED_RESOURCE_CONTENTION),  # the original said TLS
        ("rollback", "rollback_commit", B.TRANSACTION_LOG_SATURATION),  # pgGit's own rollback
        ("rollbacks_report", "rollback", B.SHARED_RESOURCE_CONTENTION),
        ("merge_branches", "commit", B.SHARED_RESOURCE_CONTENTION),
    ],
)
def test_classes_are_symmetric(a, b, expected):
    assert classify(a, b) == expected
    assert classify(b, a) == expected


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        (
            ("merge_base_find", "merge_conflict_detect", "merge_branches"),
            B.MERGE_PIPELINE_SATURATION,
        ),
        (("merge_branches", "merge_base_find", "commit"), B.SHARED_RESOURCE_CONTENTION),
        (
            ("rollback_dry_run", "rollback_validate", "rollback_recovery"),
            B.TRANSACTION_LOG_SATURATION,
        ),
    ],
)
def test_group_classes(ops, expected):
    assert classify_group(ops) == expected
    assert classify_group(tuple(reversed(ops))) == expected


@pytest.mark.parametrize(
    ("kind", "count", "mentions"),
    [
        (B.MERGE_PIPELINE_SATURATION, 3, "conflict-detection"),
        (B.OBJECT_STORAGE_IO, 3, "shared_buffers"),
        (B.QUERY_CACHE_PRESSURE, 2, "Redis"),
        (B.TRANSACTION_LOG_SATURATION, 3, "wal_buffers"),
        (B.SHARED_RESOURCE_CONTENTION, 5, "pg_locks"),
    ],
)
def test_every_class_has_all_its_recommendations(kind, count, mentions):
    assert len(RECOMMENDATIONS[kind]) == count
    assert any(mentions in sentence for sentence in RECOMMENDATIONS[kind])


def _pair(a: str, b: str, r: float) -> Correlation:
    kind = classify(a, b)
    return Correlation(
        operation_a=min(a, b),
        operation_b=max(a, b),
        r=r,
        n=100,
        confidence=1.0,
        bottleneck=kind,
        severity=Severity.CRITICAL if r >= 0.9 else Severity.WARNING,
        recommendations=RECOMMENDATIONS[kind],
        window_start=NOW - timedelta(hours=24),
        window_end=NOW,
        analyzed_at=NOW,
    )


def test_pairs_group_into_connected_clusters():
    found = clusters(
        [
            _pair("merge_base_find", "merge_conflict_detect", 0.8),
            _pair("merge_branches", "merge_conflict_detect", 0.95),
            _pair("branch_create", "commit", 0.85),
        ]
    )
    assert [(c.operations, c.bottleneck, c.severity, c.max_r, len(c.pairs)) for c in found] == [
        (
            ("merge_base_find", "merge_branches", "merge_conflict_detect"),
            B.MERGE_PIPELINE_SATURATION,
            Severity.CRITICAL,
            0.95,
            2,
        ),
        (("branch_create", "commit"), B.OBJECT_STORAGE_IO, Severity.WARNING, 0.85, 1),
    ]
    assert found[0].recommendations == RECOMMENDATIONS[B.MERGE_PIPELINE_SATURATION]


def test_no_pairs_no_clusters():
    assert clusters([]) == []

from typing import Any

import pytest
from pydantic import ValidationError

from bot.models import AlertKind, AnomalyKind, BottleneckType, Correlation, Severity
from bot.routing.candidate import BottleneckCluster, clusters, from_anomaly, from_cluster
from tests.unit.routing.factories import NOW, make_anomaly, make_candidate, make_correlation

MERGE = BottleneckType.MERGE_PIPELINE_SATURATION
STORAGE = BottleneckType.OBJECT_STORAGE_IO


ROBUST = {
    "rule": "robust",
    "window_median_ms": 29.8,
    "expected_median_ms": 4.93,
    "window_s": 300,
    "outliers": 3,
    "samples": 120,
}
ZSCORE = {"rule": "zscore", "reference_mean_ms": 5.0, "reference_std_ms": 8.0}
LINE = {"rule": "threshold", "threshold_ms": 30.0, "baseline_p99_ms": 12.0}


@pytest.mark.parametrize(
    ("anomaly_kind", "findings", "title", "summary"),
    [
        (
            AnomalyKind.STATISTICAL,
            {"statistical": ROBUST, "threshold": LINE},
            "commit latency anomaly",
            "window median 29.8 ms vs 4.9 ms usual for this hour, 3 of 120 requests above the old p99",
        ),
        (
            AnomalyKind.STATISTICAL,
            {"statistical": ZSCORE},
            "commit latency anomaly",
            "worst 48.0 ms, 5.2 standard deviations from the reference mean, 3 of 120 requests",
        ),
        (
            AnomalyKind.THRESHOLD,
            {"statistical": ROBUST, "threshold": LINE},
            "commit latency anomaly",
            "worst 48.0 ms over the threshold 30.0 ms, 3 of 120 requests",
        ),
        (
            AnomalyKind.COMBINED,
            {"statistical": ROBUST, "degradation": {"p99_before_ms": 10.0}},
            "commit latency anomaly",
            "window median 29.8 ms vs 4.9 ms usual for this hour, 3 of 120 requests above the old"
            " p99, during a 35.0% degradation",
        ),
        (
            AnomalyKind.DEGRADATION,
            {"p99_before_ms": 10.0, "p99_after_ms": 13.5},
            "commit slow degradation",
            "p99 rose 35.0% (confidence 0.80, 120 samples)",
        ),
    ],
)
def test_candidate_from_anomaly(
    anomaly_kind: AnomalyKind, findings: dict[str, Any], title: str, summary: str
) -> None:
    anomaly = make_anomaly(
        kind=anomaly_kind, degradation_pct=35.0, confidence=0.8, details=findings
    )
    candidate = from_anomaly(anomaly)
    assert (candidate.kind, candidate.title, candidate.summary) == (
        AlertKind(anomaly_kind.value),
        title,
        summary,
    )
    assert candidate.operation_types == ("commit",)
    assert candidate.details["value_ms"] == 48.0
    assert candidate.details["baseline_p99_ms"] == 12.0
    assert candidate.details["z_score"] == 5.2
    assert candidate.details["anomaly_id"] == 7
    assert "trend_slope" not in candidate.details  # absent numbers are left out
    assert candidate.detected_at == NOW
    # the rule's findings travel with the alert: the card shows the evidence that fired
    for part in ("statistical", "threshold"):
        assert candidate.details.get(part) == findings.get(part)
    if anomaly_kind is AnomalyKind.DEGRADATION:
        assert candidate.details["degradation"] == findings


def test_missing_numbers_show_as_question_marks() -> None:
    candidate = from_anomaly(make_anomaly(z_score=None, value_ms=None))
    assert candidate.summary.startswith("worst ? ms")


def test_cluster_candidate() -> None:
    pairs = [
        make_correlation(
            "merge_base_find", "merge_conflict_detect", 0.93, severity=Severity.CRITICAL, id=1
        ),
        make_correlation(
            "merge_branches",
            "merge_conflict_detect",
            0.81,
            recommendations=("Reduce merge concurrency", "Index merge metadata"),
            id=2,
        ),
    ]
    candidate = from_cluster(BottleneckCluster(bottleneck=MERGE, correlations=tuple(pairs)))
    # sorted, not strongest pair first: the title stays the same when the strongest pair changes
    assert (
        candidate.title
        == "MERGE_PIPELINE_SATURATION: merge_base_find, merge_branches, merge_conflict_detect"
    )
    assert candidate.operation_types == (
        "merge_base_find",
        "merge_branches",
        "merge_conflict_detect",
    )
    assert candidate.severity is Severity.CRITICAL
    assert (
        candidate.fingerprint
        == "bottleneck:MERGE_PIPELINE_SATURATION:merge_base_find,merge_branches,merge_conflict_detect"
    )
    assert candidate.details["r"] == 0.93
    assert candidate.details["recommendations"] == [
        "Reduce merge concurrency",
        "Index merge metadata",
    ]
    assert [p["r"] for p in candidate.details["pairs"]] == [0.93, 0.81]
    assert candidate.details["correlation_ids"] == [1, 2]


def test_clusters_split_by_class_and_connectivity() -> None:
    pairs = [
        make_correlation("merge_a", "merge_b"),
        make_correlation("merge_c", "merge_d"),
        make_correlation("merge_b", "merge_c"),  # joins the two groups above
        make_correlation("merge_x", "merge_y"),
        make_correlation("branch_create", "commit", bottleneck=STORAGE),
    ]
    found = clusters(pairs)
    assert [(c.bottleneck, sorted(c.operations)) for c in found] == [
        (MERGE, ["merge_a", "merge_b", "merge_c", "merge_d"]),
        (MERGE, ["merge_x", "merge_y"]),
        (STORAGE, ["branch_create", "commit"]),
    ]


@pytest.mark.parametrize(
    "pairs",
    [
        [make_correlation("merge_a", "merge_b"), make_correlation("merge_c", "merge_d")],
        [
            make_correlation("merge_a", "merge_b"),
            make_correlation("commit", "merge_a", bottleneck=STORAGE),
        ],
        [],
    ],
)
def test_cluster_must_be_one_connected_class(pairs: list[Correlation]) -> None:
    with pytest.raises(ValidationError):
        BottleneckCluster(bottleneck=MERGE, correlations=tuple(pairs))


@pytest.mark.parametrize(
    "overrides",
    [
        {"operation_types": ("b", "a")},
        {"operation_types": ("a", "a")},
        {"operation_types": ()},
        {"kind": AlertKind.BOTTLENECK},
        {"bottleneck": MERGE},
    ],
)
def test_candidate_validation(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        make_candidate(**overrides)

import pytest

from bot.models import AlertKind, BottleneckType
from bot.routing.fingerprint import fingerprint

MERGE = BottleneckType.MERGE_PIPELINE_SATURATION


@pytest.mark.parametrize(
    ("kind", "ops", "bottleneck", "expected"),
    [
        (AlertKind.STATISTICAL, ["commit"], None, "anomaly:commit"),
        (AlertKind.THRESHOLD, ["commit"], None, "anomaly:commit"),
        (AlertKind.COMBINED, ["commit"], None, "anomaly:commit"),
        (AlertKind.DEGRADATION, ["get_history"], None, "degradation:get_history"),
        (
            AlertKind.BOTTLENECK,
            ["merge_conflict_detect", "merge_base_find", "merge_branches"],
            MERGE,
            "bottleneck:MERGE_PIPELINE_SATURATION:merge_base_find,merge_branches,merge_conflict_detect",
        ),
        (AlertKind.MERGE, ["main", "main"], None, "merge:main"),
        (AlertKind.STATISTICAL, ["a,b", "c:d", "50%"], None, "anomaly:50%25,a%2Cb,c%3Ad"),
    ],
)
def test_fingerprint(
    kind: AlertKind, ops: list[str], bottleneck: BottleneckType | None, expected: str
) -> None:
    assert fingerprint(kind, ops, bottleneck) == expected


def test_fingerprint_ignores_operation_order() -> None:
    ops = ["merge_branches", "merge_base_find", "merge_conflict_detect"]
    assert fingerprint(AlertKind.BOTTLENECK, ops, MERGE) == fingerprint(
        AlertKind.BOTTLENECK, reversed(ops), MERGE
    )


def test_escaping_keeps_distinct_operations_distinct() -> None:
    assert fingerprint(AlertKind.STATISTICAL, ["a,b"]) != fingerprint(
        AlertKind.STATISTICAL, ["a", "b"]
    )


def test_spikes_and_degradation_of_one_operation_differ() -> None:
    assert fingerprint(AlertKind.STATISTICAL, ["commit"]) != fingerprint(
        AlertKind.DEGRADATION, ["commit"]
    )

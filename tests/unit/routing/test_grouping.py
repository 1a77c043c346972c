import pytest

from bot.models import Alert, AlertKind, AlertStatus, BottleneckType, NewAlert, Severity
from bot.routing.grouping import attach, group_children, release
from bot.routing.lifecycle import Fire, LifecyclePolicy, Update, auto_resolve, decide
from bot.routing.update import parent_sees
from tests.unit.routing.factories import (
    NOW,
    make_alert,
    make_candidate,
    make_silence,
    minutes,
    router,
)

MERGE = BottleneckType.MERGE_PIPELINE_SATURATION
OPS = ("merge_base_find", "merge_branches", "merge_conflict_detect")


def bottleneck_alert(**overrides: object) -> Alert:
    fields: dict[str, object] = {
        "id": 100,
        "kind": AlertKind.BOTTLENECK,
        "bottleneck": MERGE,
        "operation_types": OPS,
        "notified_channels": ("oncall-mm", "oncall-slack"),
    }
    fields.update(overrides)
    return make_alert(**fields)


def anomaly(id: int, op: str, **overrides: object) -> Alert:
    return make_alert(id=id, operation_types=(op,), **overrides)


def test_group_children_picks_open_ungrouped_per_operation_alerts_of_its_operations() -> None:
    open_alerts = [
        anomaly(1, "merge_base_find"),
        anomaly(2, "merge_branches", kind=AlertKind.DEGRADATION),
        anomaly(3, "merge_conflict_detect", status=AlertStatus.ACKNOWLEDGED),
        anomaly(4, "merge_branches", status=AlertStatus.RESOLVED),
        anomaly(5, "commit"),
        anomaly(6, "merge_base_find", parent_id=99),
        make_alert(id=7, operation_types=("commit", "merge_branches")),
        bottleneck_alert(id=8, operation_types=("merge_base_find", "merge_branches")),
    ]
    assert group_children(bottleneck_alert(), open_alerts) == [1, 2, 3]


def test_bottleneck_fire_groups_the_open_anomaly_alerts() -> None:
    candidate = make_candidate(
        kind=AlertKind.BOTTLENECK,
        bottleneck=MERGE,
        operation_types=OPS,
        title="MERGE_PIPELINE_SATURATION: …",
    )
    related = [anomaly(i, op) for i, op in enumerate(OPS, start=1)]
    decision = decide(
        candidate,
        related=related,
        recent={},
        silences=[],
        router=router(),
        policy=LifecyclePolicy(),
        now=NOW,
    )
    assert isinstance(decision, Fire)
    assert decision.children == (1, 2, 3)
    assert len(decision.sends) == 2  # one page, not five


def test_attach_stops_the_child_escalating_and_edits_its_messages() -> None:
    child = anomaly(1, "merge_branches", next_escalation_at=NOW + minutes(3))
    result = attach(child, 100, NOW)
    assert (result.alert.parent_id, result.alert.next_escalation_at) == (100, None)
    assert [(s.channel, s.event, s.alert_id) for s in result.sends] == [
        ("oncall-slack", "updated", 1)
    ]
    assert [e.action for e in result.events] == ["grouped"]


def test_anomaly_under_an_open_bottleneck_fires_as_a_silent_child() -> None:
    parent = bottleneck_alert()
    decision = decide(
        make_candidate(operation_types=("merge_branches",)),
        related=[parent],
        recent={},
        silences=[],
        router=router(),
        policy=LifecyclePolicy(),
        now=NOW,
    )
    assert isinstance(decision, Fire)
    alert: NewAlert = decision.alert
    assert (alert.parent_id, alert.next_escalation_at, alert.notified_channels) == (100, None, ())
    assert [(s.channel, s.event, s.alert_id) for s in decision.sends] == [
        ("oncall-mm", "updated", 100),
        ("oncall-slack", "updated", 100),
    ]
    assert [e.action for e in decision.events] == ["fired", "grouped"]


@pytest.mark.parametrize(
    "parent_overrides",
    [
        {"status": AlertStatus.RESOLVED},
        {"silence_id": 3},
        {"operation_types": ("merge_base_find", "merge_conflict_detect")},
    ],
)
def test_no_grouping_under_resolved_silenced_or_unrelated_parents(
    parent_overrides: dict[str, object],
) -> None:
    parent = bottleneck_alert(**parent_overrides)
    decision = decide(
        make_candidate(operation_types=("merge_branches",)),
        related=[parent],
        recent={},
        silences=[],
        router=router(),
        policy=LifecyclePolicy(),
        now=NOW,
    )
    assert isinstance(decision, Fire)
    assert decision.alert.parent_id is None


def test_silenced_bottleneck_adopts_no_children() -> None:
    candidate = make_candidate(kind=AlertKind.BOTTLENECK, bottleneck=MERGE, operation_types=OPS)
    decision = decide(
        candidate,
        related=[anomaly(1, "merge_branches")],
        recent={},
        silences=[make_silence(bottleneck="MERGE_PIPELINE_SATURATION")],
        router=router(),
        policy=LifecyclePolicy(),
        now=NOW,
    )
    assert isinstance(decision, Fire)
    assert decision.children == ()


def test_child_updates_edit_the_parent_not_page() -> None:
    parent = bottleneck_alert()
    child = anomaly(1, "merge_branches", parent_id=100, notified_channels=(), occurrences=4)
    worse = decide(
        make_candidate(operation_types=("merge_branches",), severity=Severity.CRITICAL),
        related=[parent, child],
        recent={},
        silences=[],
        router=router(),
        policy=LifecyclePolicy(),
        now=NOW,
    )
    assert isinstance(worse, Update)
    assert worse.alert.severity is Severity.CRITICAL
    assert worse.alert.next_escalation_at is None
    assert [(s.channel, s.event, s.alert_id) for s in worse.sends] == [
        ("oncall-mm", "updated", 100),
        ("oncall-slack", "updated", 100),
    ]
    quiet = decide(
        make_candidate(operation_types=("merge_branches",)),
        related=[parent, child.model_copy(update={"occurrences": 5})],
        recent={},
        silences=[],
        router=router(),
        policy=LifecyclePolicy(),
        now=NOW,
    )
    assert isinstance(quiet, Update)
    assert quiet.sends == ()


def test_resolving_a_grouped_child_edits_the_parent() -> None:
    child = anomaly(
        1, "merge_branches", parent_id=100, notified_channels=(), last_seen=NOW - minutes(40)
    )
    result = auto_resolve(child, NOW, LifecyclePolicy(), parent=bottleneck_alert())
    assert result is not None
    assert [(s.channel, s.alert_id) for s in result.sends] == [
        ("oncall-mm", 100),
        ("oncall-slack", 100),
    ]


@pytest.mark.parametrize(
    ("notified", "expected"),
    [((), [("oncall-slack", "fired")]), (("oncall-mm",), [("oncall-mm", "updated")])],
)
def test_release_gives_a_child_its_own_paging_back(
    notified: tuple[str, ...], expected: list[tuple[str, str]]
) -> None:
    child = anomaly(1, "merge_branches", parent_id=100, notified_channels=notified)
    result = release(child, NOW)
    assert result.alert.parent_id is None
    assert [(s.channel, s.event) for s in result.sends] == expected
    assert result.alert.version == child.version + 1
    assert [e.action for e in result.events] == ["released"]


@pytest.mark.parametrize(
    ("change", "edits_parent"),
    [
        ({"occurrences": 10}, False),  # a notable count: the child's own messages, not the parent's
        ({"details": {"value_ms": 99.0}}, False),
        ({"severity": Severity.CRITICAL}, True),
        ({"title": "merge_branches slow degradation"}, True),
        ({"status": AlertStatus.ACKNOWLEDGED}, True),
    ],
)
def test_parent_is_edited_only_when_the_childs_line_changes(
    change: dict[str, object], edits_parent: bool
) -> None:
    child = anomaly(1, "merge_branches", parent_id=100)
    assert parent_sees(child, child.model_copy(update=change)) is edits_parent


def test_a_notable_count_of_a_child_does_not_re_post_the_parent() -> None:
    parent = bottleneck_alert()
    child = anomaly(1, "merge_branches", parent_id=100, notified_channels=(), occurrences=9)
    tenth = decide(
        make_candidate(operation_types=("merge_branches",)),
        related=[parent, child],
        recent={},
        silences=[],
        router=router(),
        policy=LifecyclePolicy(),
        now=NOW,
    )
    assert isinstance(tenth, Update)
    assert tenth.alert.occurrences == 10
    assert tenth.sends == ()

from collections.abc import Sequence
from datetime import timedelta

import pytest

from bot.config import AlertSettings, build
from bot.models import Alert, AlertKind, AlertStatus, Severity, Silence
from bot.routing import actions
from bot.routing.candidate import AlertCandidate
from bot.routing.lifecycle import (
    Decision,
    Fire,
    LifecyclePolicy,
    Record,
    Update,
    auto_resolve,
    decide,
    recurrence_counts,
)
from bot.routing.rules import Router
from tests.unit.routing.factories import (
    ALICE,
    NOW,
    make_alert,
    make_candidate,
    make_silence,
    minutes,
    route,
    router,
)

CRIT, WARN, INFO = Severity.CRITICAL, Severity.WARNING, Severity.INFO
POLICY = LifecyclePolicy()
ROUTER = router()  # seed default over every channel type


def run(
    candidate: AlertCandidate,
    related: Sequence[Alert] = (),
    recent: dict[str, int] | None = None,
    silences: Sequence[Silence] = (),
    policy: LifecyclePolicy = POLICY,
    routes: Router = ROUTER,
) -> Decision:
    return decide(
        candidate,
        related=related,
        recent=recent or {},
        silences=silences,
        router=routes,
        policy=policy,
        now=NOW,
    )


def test_fire_a_new_alert() -> None:
    decision = run(make_candidate(severity=WARN))
    assert isinstance(decision, Fire)
    alert = decision.alert
    assert (alert.fingerprint, alert.severity, alert.status, alert.occurrences) == (
        "anomaly:commit",
        WARN,
        AlertStatus.OPEN,
        1,
    )
    assert alert.plan == decision.route.plan
    assert alert.plan.route == "default"
    assert alert.notified_channels == ("oncall-mm", "oncall-slack")
    assert (alert.escalation_step, alert.next_escalation_at) == (0, NOW + minutes(10))
    assert [(s.channel, s.event, s.alert_id) for s in decision.sends] == [
        ("oncall-mm", "fired", None),
        ("oncall-slack", "fired", None),
    ]
    assert [e.action for e in decision.events] == ["fired"]
    assert alert.stored(9).id == 9


def test_critical_default_pages_every_tier_at_once() -> None:
    decision = run(make_candidate(severity=CRIT))
    assert isinstance(decision, Fire)
    assert [s.channel for s in decision.sends] == [
        "oncall-mm",
        "oncall-slack",
        "dba-email",
        "pager",
    ]
    assert (decision.alert.escalation_step, decision.alert.next_escalation_at) == (1, None)


@pytest.mark.parametrize(
    ("severity", "min_severity", "fires"),
    [
        (INFO, WARN, False),
        (WARN, WARN, True),
        (INFO, INFO, True),
        (WARN, CRIT, False),
        (CRIT, CRIT, True),
    ],
)
def test_min_severity(severity: Severity, min_severity: Severity, fires: bool) -> None:
    decision = run(
        make_candidate(severity=severity), policy=LifecyclePolicy(min_severity=min_severity)
    )
    assert isinstance(decision, Fire) is fires
    if not fires:
        assert isinstance(decision, Record)
        assert "below alerts.min_severity" in decision.reason


@pytest.mark.parametrize(
    ("open_severity", "new_severity", "expected"),
    [
        (WARN, WARN, WARN),
        (WARN, INFO, WARN),
        (CRIT, WARN, CRIT),
        (WARN, CRIT, CRIT),
        (INFO, WARN, WARN),
    ],
)
def test_repeats_update_one_alert_and_severity_only_rises(
    open_severity: Severity, new_severity: Severity, expected: Severity
) -> None:
    current = make_alert(severity=open_severity, occurrences=3)
    decision = run(
        make_candidate(severity=new_severity, details={"value_ms": 99.0}, summary="worst 99.0 ms"),
        related=[current],
    )
    assert isinstance(decision, Update)
    alert = decision.alert
    assert (alert.id, alert.severity, alert.occurrences, alert.last_seen) == (42, expected, 4, NOW)
    assert (alert.details, alert.summary) == ({"value_ms": 99.0}, "worst 99.0 ms")
    assert alert.first_seen == current.first_seen
    assert alert.version == current.version + 1


def test_a_below_minimum_detection_still_keeps_the_open_alert_alive() -> None:
    decision = run(make_candidate(severity=INFO), related=[make_alert()])
    assert isinstance(decision, Update)
    assert decision.alert.last_seen == NOW


def test_threshold_and_statistical_spikes_share_one_alert_but_degradation_does_not() -> None:
    current = make_alert(kind=AlertKind.STATISTICAL)
    assert isinstance(run(make_candidate(kind=AlertKind.THRESHOLD), related=[current]), Update)
    assert isinstance(
        run(
            make_candidate(kind=AlertKind.DEGRADATION, title="commit slow degradation"),
            related=[current],
        ),
        Fire,
    )


def test_resolved_alerts_are_not_updated() -> None:
    assert isinstance(
        run(make_candidate(), related=[make_alert(status=AlertStatus.RESOLVED)]), Fire
    )


@pytest.mark.parametrize(
    ("occurrences_before", "edits"),
    [
        (1, True),
        (2, False),
        (3, False),
        (4, True),
        (9, True),
        (10, False),
        (19, True),
        (49, True),
        (99, True),
        (100, False),
    ],
)
def test_updates_edit_messages_only_at_notable_counts(occurrences_before: int, edits: bool) -> None:
    decision = run(make_candidate(), related=[make_alert(occurrences=occurrences_before)])
    assert isinstance(decision, Update)
    assert bool(decision.sends) is edits
    assert all((s.event, s.alert_id) == ("updated", 42) for s in decision.sends)
    assert decision.events == ()  # occurrences are not audited one by one


def test_severity_rise_repages_with_the_plan_for_the_new_severity() -> None:
    current = make_alert(
        severity=WARN,
        occurrences=3,
        plan=ROUTER.resolve(make_candidate(severity=WARN)).plan,
        notified_channels=("oncall-mm", "oncall-slack"),
        escalation_step=0,
        next_escalation_at=NOW + minutes(5),
    )
    decision = run(make_candidate(severity=CRIT), related=[current])
    assert isinstance(decision, Update)
    assert decision.changes == ("severity",)
    assert [(s.channel, s.event) for s in decision.sends] == [
        (c, "escalated") for c in ("oncall-mm", "oncall-slack", "dba-email", "pager")
    ]
    assert decision.alert.plan.channels == ("oncall-mm", "oncall-slack", "dba-email")
    assert [e.action for e in decision.events] == ["severity_raised"]


def test_acknowledge_stops_repeats_but_worsening_repages() -> None:
    current = make_alert(
        severity=WARN, occurrences=3, notified_channels=("oncall-mm", "oncall-slack")
    )
    acked = actions.acknowledge(current, ALICE, NOW - minutes(1)).alert
    assert acked.next_escalation_at is None
    assert acked.ack_severity is WARN
    same = run(make_candidate(severity=WARN), related=[acked])
    assert isinstance(same, Update)
    assert same.alert.status is AlertStatus.ACKNOWLEDGED
    assert same.sends == ()
    worse = run(make_candidate(severity=CRIT), related=[acked])
    assert isinstance(worse, Update)
    assert worse.alert.status is AlertStatus.OPEN
    assert (worse.alert.acknowledged_by, worse.alert.ack_severity) == (None, None)
    assert {s.event for s in worse.sends} == {"escalated"}
    assert "pager" in [s.channel for s in worse.sends]
    assert [e.action for e in worse.events] == ["severity_raised", "reopened"]
    assert worse.events[1].details["acknowledged_by"] == ALICE.label


@pytest.mark.parametrize(
    ("prior", "severity", "expected"),
    [(0, WARN, WARN), (1, WARN, WARN), (2, WARN, CRIT), (5, INFO, CRIT), (2, CRIT, CRIT)],
)
def test_third_alert_for_an_operation_within_the_window_is_critical(
    prior: int, severity: Severity, expected: Severity
) -> None:
    decision = run(
        make_candidate(severity=severity),
        recent={"commit": prior, "merge": 9},
        policy=LifecyclePolicy(min_severity=INFO),
    )
    assert isinstance(decision, Fire)
    assert decision.alert.severity is expected
    bumped = expected is CRIT and severity is not CRIT
    assert ("severity_raised" in [e.action for e in decision.events]) is bumped
    assert ("recurrence" in decision.alert.details) is bumped
    if bumped:
        assert decision.route.explanation[0].startswith("no route matched: default for CRITICAL")


def test_recurrence_counts_only_alerts_created_in_the_window() -> None:
    alerts = [
        make_alert(id=1, created_at=NOW - minutes(10)),
        make_alert(id=2, created_at=NOW - minutes(59), operation_types=("commit", "merge")),
        make_alert(id=3, created_at=NOW - minutes(61)),
    ]
    assert recurrence_counts(alerts, NOW, timedelta(hours=1)) == {"commit": 2, "merge": 1}


def test_silenced_alert_exists_but_sends_nothing() -> None:
    decision = run(make_candidate(), silences=[make_silence(operation="com*", expires_in=45)])
    assert isinstance(decision, Fire)
    assert (decision.alert.silence_id, decision.alert.next_escalation_at) == (3, NOW + minutes(45))
    assert decision.sends == ()
    assert decision.alert.notified_channels == ()
    assert [e.action for e in decision.events] == ["fired", "silenced"]


def test_silenced_then_resolved_still_sends_the_resolved_notice() -> None:
    decision = run(make_candidate(), silences=[make_silence(operation="commit")])
    assert isinstance(decision, Fire)
    alert = decision.alert.stored(5)
    resolved = auto_resolve(alert, NOW + minutes(30), POLICY)
    assert resolved is not None
    assert [(s.channel, s.event, s.alert_id) for s in resolved.sends] == [
        ("oncall-mm", "resolved", 5),
        ("oncall-slack", "resolved", 5),
    ]


def test_silence_on_an_open_alert_mutes_updates_and_its_end_resumes() -> None:
    silence = make_silence(operation="commit")
    muted = run(make_candidate(), related=[make_alert(occurrences=4)], silences=[silence])
    assert isinstance(muted, Update)
    assert muted.alert.silence_id == 3
    assert [e.action for e in muted.events] == ["silenced"]
    again = run(
        make_candidate(),
        related=[muted.alert.model_copy(update={"occurrences": 9})],
        silences=[silence],
    )
    assert isinstance(again, Update)
    assert again.sends == ()
    assert again.events == ()
    ended = run(make_candidate(), related=[muted.alert], silences=[])
    assert isinstance(ended, Update)
    assert ended.alert.silence_id is None
    assert [e.action for e in ended.events] == ["unsilenced"]


def test_worsening_breaks_through_a_severity_silence() -> None:
    silence = make_silence(severity="WARNING")
    muted = make_alert(severity=WARN, silence_id=3, notified_channels=())
    decision = run(make_candidate(severity=CRIT), related=[muted], silences=[silence])
    assert isinstance(decision, Update)
    assert decision.alert.silence_id is None
    assert decision.alert.severity is CRIT
    assert {s.event for s in decision.sends} == {"escalated"}
    assert [e.action for e in decision.events] == ["severity_raised", "unsilenced"]


@pytest.mark.parametrize(("quiet", "resolves"), [(29, False), (30, True), (120, True)])
def test_auto_resolve_after_quiet_period(quiet: int, resolves: bool) -> None:
    alert = make_alert(
        last_seen=NOW - minutes(quiet),
        notified_channels=("oncall-mm", "oncall-slack"),
        next_escalation_at=NOW,
    )
    result = auto_resolve(alert, NOW, POLICY)
    assert (result is not None) is resolves
    if result is not None:
        assert (
            result.alert.status,
            result.alert.resolved_at,
            result.alert.resolved_by,
            result.alert.next_escalation_at,
        ) == (AlertStatus.RESOLVED, NOW, "perfbot", None)
        assert [(s.channel, s.event) for s in result.sends] == [
            ("oncall-mm", "resolved"),
            ("oncall-slack", "resolved"),
        ]
        assert result.events[0].details["automatic"] is True


def test_auto_resolve_skips_resolved_alerts() -> None:
    assert (
        auto_resolve(
            make_alert(status=AlertStatus.RESOLVED, last_seen=NOW - minutes(90)), NOW, POLICY
        )
        is None
    )


def test_fire_uses_the_routes_of_the_moment() -> None:
    routes = router([route("merges", match={"operation": "merge*"}, notify=["dba-email"])])
    decision = run(make_candidate(operation_types=("merge_branches",)), routes=routes)
    assert isinstance(decision, Fire)
    assert decision.route.route == "merges"
    assert [s.channel for s in decision.sends] == ["dba-email"]


BOTTLENECK = dict(kind=AlertKind.BOTTLENECK, bottleneck="MERGE_PIPELINE_SATURATION")


@pytest.mark.parametrize(
    ("open_ops", "candidate_ops", "open_class", "same_alert"),
    [
        (
            ("merge_branches", "merge_conflict_detect"),
            ("merge_base_find", "merge_branches", "merge_conflict_detect"),
            "MERGE_PIPELINE_SATURATION",
            True,
        ),
        (
            ("merge_branches", "merge_conflict_detect"),
            ("merge_base_find", "merge_branches"),
            "MERGE_PIPELINE_SATURATION",
            True,
        ),
        (
            ("merge_branches", "merge_conflict_detect"),
            ("merge_base_find", "merge_execute"),
            "MERGE_PIPELINE_SATURATION",
            False,
        ),
        (
            ("commit", "merge_branches"),
            ("merge_base_find", "merge_branches"),
            "SHARED_RESOURCE_CONTENTION",
            False,
        ),
    ],
)
def test_a_growing_bottleneck_stays_one_alert(
    open_ops: tuple[str, ...], candidate_ops: tuple[str, ...], open_class: str, same_alert: bool
) -> None:
    fingerprint = "bottleneck:" + open_class + ":" + ",".join(open_ops)
    current = make_alert(
        id=7,
        fingerprint=fingerprint,
        operation_types=open_ops,
        kind=AlertKind.BOTTLENECK,
        bottleneck=open_class,
    )
    child = make_alert(
        id=8, fingerprint="anomaly:merge_base_find", operation_types=("merge_base_find",)
    )
    candidate = make_candidate(operation_types=tuple(sorted(candidate_ops)), **BOTTLENECK)
    decision = run(candidate, related=[current, child])
    if not same_alert:
        assert isinstance(decision, Fire)
        return
    assert isinstance(decision, Update)
    assert decision.alert.id == 7
    assert decision.alert.fingerprint == fingerprint
    assert set(decision.alert.operation_types) == set(open_ops) | set(candidate_ops)
    assert "operations" in decision.changes
    assert decision.children == (8,)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({}, LifecyclePolicy(minutes(30), 3, timedelta(hours=1), WARN)),
        (
            {
                "resolve_after": "10m",
                "recurrence": 5,
                "recurrence_window": "2h",
                "repeat_every": "1h",
                "min_severity": "INFO",
            },
            LifecyclePolicy(minutes(10), 5, timedelta(hours=2), INFO),
        ),
    ],
)
def test_policy_from_settings(section: dict[str, object], expected: LifecyclePolicy) -> None:
    assert build.lifecycle_policy(AlertSettings.model_validate(section)) == expected

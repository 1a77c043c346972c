from datetime import datetime, timedelta

import pytest

from bot import errors
from bot.models import AlertKind, AlertStatus, BottleneckType, Severity, SilenceMatch
from bot.routing.silence import matches, matching_silence, mute, new_silence, validate_match
from tests.unit.routing.factories import (
    ALICE,
    NOW,
    make_alert,
    make_candidate,
    make_silence,
    minutes,
)

CRIT, WARN, INFO = Severity.CRITICAL, Severity.WARNING, Severity.INFO


@pytest.mark.parametrize(
    ("match", "alert_fields", "expected"),
    [
        ({"operation": "commit"}, {}, True),
        ({"operation": "merge*"}, {}, False),
        ({"operation": "merge*"}, {"operation_types": ("commit", "merge_x")}, True),
        ({"kind": "anomaly"}, {"kind": AlertKind.THRESHOLD}, True),
        ({"kind": "anomaly"}, {"kind": AlertKind.DEGRADATION}, False),
        ({"kind": "degradation"}, {"kind": AlertKind.DEGRADATION}, True),
        # severity means "this severity or lower": a worsening breaks through
        ({"severity": "WARNING"}, {"severity": INFO}, True),
        ({"severity": "WARNING"}, {"severity": WARN}, True),
        ({"severity": "WARNING"}, {"severity": CRIT}, False),
        ({"bottleneck": "OBJECT_STORAGE_IO"}, {}, False),
        ({"alert_id": 42}, {}, True),
        ({"alert_id": 41}, {}, False),
        # every given field must match
        ({"operation": "commit", "kind": "degradation"}, {}, False),
        ({"operation": "com*", "kind": "anomaly", "severity": "CRITICAL"}, {}, True),
    ],
)
def test_silence_matching(
    match: dict[str, object], alert_fields: dict[str, object], expected: bool
) -> None:
    assert matches(SilenceMatch.model_validate(match), make_alert(**alert_fields)) is expected


def test_bottleneck_matcher() -> None:
    alert = make_alert(
        kind=AlertKind.BOTTLENECK,
        bottleneck=BottleneckType.OBJECT_STORAGE_IO,
        operation_types=("branch_create", "commit"),
    )
    assert matches(SilenceMatch(bottleneck=BottleneckType.OBJECT_STORAGE_IO), alert)
    assert not matches(SilenceMatch(bottleneck=BottleneckType.QUERY_CACHE_PRESSURE), alert)


def test_a_candidate_never_matches_an_alert_id_silence() -> None:
    assert not matches(SilenceMatch(alert_id=42), make_candidate())
    assert matches(SilenceMatch(operation="commit"), make_candidate())


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (NOW - minutes(11), None),  # not yet created
        (NOW, 3),
        (NOW + minutes(59), 3),
        (NOW + minutes(60), None),  # expired: expires_at is exclusive
    ],
)
def test_silence_expiry(at: datetime, expected: int | None) -> None:
    found = matching_silence(make_alert(), [make_silence(operation="commit")], at)
    assert (found.id if found else None) == expected


def test_ended_silence_does_not_match() -> None:
    ended = make_silence(operation="commit").model_copy(update={"ended_at": NOW - minutes(1)})
    assert matching_silence(make_alert(), [ended], NOW) is None


def test_longest_lasting_silence_wins() -> None:
    silences = [
        make_silence(1, 30, operation="commit"),
        make_silence(2, 90, kind="anomaly"),
        make_silence(3, 90, severity="WARNING"),
    ]
    found = matching_silence(make_alert(), silences, NOW)
    assert found is not None
    assert found.id == 2


@pytest.mark.parametrize(
    ("match", "message"),
    [
        (SilenceMatch(), "at least one of"),
        (SilenceMatch(operation="  "), "must not be empty"),
        (SilenceMatch(kind="spike"), "unknown kind 'spike'"),
    ],
)
def test_validate_match(match: SilenceMatch, message: str) -> None:
    with pytest.raises(errors.BadArguments, match=message):
        validate_match(match)


@pytest.mark.parametrize(
    ("duration", "message"),
    [(timedelta(0), "positive duration"), (timedelta(days=31), "at most 30 days")],
)
def test_new_silence_duration(duration: timedelta, message: str) -> None:
    with pytest.raises(errors.BadArguments, match=message):
        new_silence(SilenceMatch(operation="commit"), ALICE, NOW, duration)


def test_new_silence() -> None:
    created = new_silence(SilenceMatch(operation="merge*"), ALICE, NOW, minutes(90), "deploy")
    assert (created.created_by, created.created_at, created.expires_at, created.reason) == (
        ALICE.label,
        NOW,
        NOW + minutes(90),
        "deploy",
    )


@pytest.mark.parametrize(
    ("status", "parent_id", "wake"),
    [
        (AlertStatus.OPEN, None, NOW + minutes(60)),
        (AlertStatus.ACKNOWLEDGED, None, None),
        (AlertStatus.OPEN, 7, None),
    ],
)
def test_mute(status: AlertStatus, parent_id: int | None, wake: object) -> None:
    alert = make_alert(status=status, parent_id=parent_id, next_escalation_at=NOW + minutes(5))
    result = mute(alert, make_silence(operation="commit"), NOW, ALICE)
    assert (result.alert.silence_id, result.alert.next_escalation_at) == (3, wake)
    assert [(s.channel, s.event) for s in result.sends] == [("oncall-slack", "updated")]
    assert [(e.action, e.actor, e.source) for e in result.events] == [
        ("silenced", ALICE.label, ALICE.source)
    ]
    assert result.alert.version == alert.version + 1

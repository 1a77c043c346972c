"""External alerts (Alertmanager's) in the pure routing core: labels matched by routes and
silences, identity from the source's key, one alert per key across re-sends, no auto-resolve."""

from typing import Any

import pytest

from bot.models import Alert, AlertKind, SilenceMatch
from bot.routing import lifecycle, silence
from bot.routing.fire import Fire
from bot.routing.lifecycle import LifecyclePolicy
from bot.routing.update import Update
from tests.unit.routing.factories import NOW, make_alert, make_candidate, make_silence, minutes
from tests.unit.routing.factories import route as make_route
from tests.unit.routing.factories import router as make_router

LABELS = {"alertname": "PostgresReplicationLag", "team": "db", "instance": "db-1:9187"}


def external(**overrides: Any) -> Any:
    data: dict[str, Any] = {
        "kind": AlertKind.EXTERNAL,
        "operation_types": (),
        "key": "1a30ba71cca2921f",
        "title": "Replication lag",
        "summary": "42s behind",
        "details": {"labels": LABELS},
    }
    data.update(overrides)
    return make_candidate(**data)


def external_alert(**overrides: Any) -> Alert:
    data: dict[str, Any] = {
        "kind": AlertKind.EXTERNAL,
        "operation_types": (),
        "fingerprint": "external:1a30ba71cca2921f",
        "details": {"labels": LABELS},
    }
    data.update(overrides)
    return make_alert(**data)


@pytest.mark.parametrize(
    ("wanted", "matched"),
    [
        ({"team": "db"}, True),
        ({"team": "db", "alertname": "PostgresReplicationLag"}, True),
        ({"team": "web"}, False),
        ({"missing": "x"}, False),
    ],
)
def test_route_matches_labels(wanted: dict[str, str], matched: bool) -> None:
    rule = make_route("by-label", match={"labels": wanted}, notify=["oncall-mm"])
    decision = make_router([rule]).resolve(external())
    assert (decision.route == "by-label") is matched


def test_perfbot_alerts_have_no_labels_so_label_routes_skip_them() -> None:
    rule = make_route("by-label", match={"labels": {"team": "db"}}, notify=["oncall-mm"])
    assert make_router([rule]).resolve(make_candidate()).route == "default"


@pytest.mark.parametrize(
    ("labels", "muted"),
    [({"team": "db"}, True), ({"team": "web"}, False), ({"team": "db", "job": "x"}, False)],
)
def test_silence_matches_labels(labels: dict[str, str], muted: bool) -> None:
    quiet = make_silence(labels=labels)
    assert (silence.matching_silence(external_alert(), [quiet], NOW) is not None) is muted


def test_label_silence_is_not_broad_and_is_a_valid_match() -> None:
    match = SilenceMatch(labels={"team": "db"})
    assert not silence.is_broad(match)
    assert silence.validate_match(match) == match
    assert silence.describe(match) == "label team=db"


def test_external_candidate_needs_its_key_and_takes_its_fingerprint_from_it() -> None:
    assert external().fingerprint == "external:1a30ba71cca2921f"
    with pytest.raises(ValueError, match="key"):
        external(key=None)
    with pytest.raises(ValueError, match="operation"):
        make_candidate(operation_types=())


def test_resent_external_alert_updates_the_same_alert() -> None:
    policy = LifecyclePolicy()
    router = make_router()
    first = lifecycle.decide(
        external(), related=[], recent={}, silences=[], router=router, policy=policy, now=NOW
    )
    assert isinstance(first, Fire)
    assert first.alert.fingerprint == "external:1a30ba71cca2921f"
    assert first.alert.labels == LABELS
    stored = first.alert.stored(9)
    again = lifecycle.decide(
        external(), related=[stored], recent={}, silences=[], router=router, policy=policy, now=NOW
    )
    assert isinstance(again, Update)
    assert again.alert.id == 9
    assert again.alert.occurrences == 2


def test_external_alert_is_never_auto_resolved() -> None:
    quiet = external_alert(last_seen=NOW - minutes(600))
    assert lifecycle.auto_resolve(quiet, NOW, LifecyclePolicy()) is None
    assert lifecycle.auto_resolve(make_alert(last_seen=NOW - minutes(600)), NOW, LifecyclePolicy())

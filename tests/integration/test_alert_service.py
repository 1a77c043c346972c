"""The alert service against real PostgreSQL: detections become alerts and queued deliveries,
chat actions change them with an audit trail, timers escalate and resolve."""

from datetime import timedelta

import pytest

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.config import Settings
from bot.errors import InvalidTransition, NotFound, PermissionDenied
from bot.models import ActorSource, AlertStatus, Severity, SilenceMatch
from bot.routing.transition import Actor
from bot.store import Store
from tests.factories import T0, make_anomaly, make_correlation

ALICE = Actor(user_id="U1", user_name="alice", source=ActorSource.SLACK)
MALLORY_ID = "ma11oryma11oryma11oryma11o"
MALLORY = Actor(user_id=MALLORY_ID, user_name="mallory", source=ActorSource.MATTERMOST)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def settings() -> Settings:
    return Settings.load(
        channels={
            "hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
            "pager": {"type": "webhook", "url": "http://127.0.0.1:9/pager"},
        },
        routes=[
            {
                "name": "all",
                "notify": ["hook"],
                "escalation": [{"after": "10m", "notify": ["pager"], "mention": ["@oncall"]}],
            }
        ],
        permissions={
            "ack": ["*"],
            "escalate": ["*"],
            "silence": ["slack:U1"],
            "resolve": ["slack:U1"],
        },
    )


@pytest.fixture
def service(store: Store, settings: Settings, clock: FrozenClock) -> AlertService:
    return AlertService(store, settings, clock)


async def queued(store: Store, alert_id: int) -> list[tuple[str, str]]:
    return [(d.channel, d.event) for d in await store.deliveries.for_alert(alert_id)]


async def test_anomaly_fires_once_then_updates(service: AlertService, store: Store) -> None:
    [stored] = await store.findings.add_anomalies([make_anomaly()])
    [alert] = await service.process_anomalies([stored], T0)
    assert alert.status is AlertStatus.OPEN
    assert alert.notified_channels == ("hook",)
    assert await queued(store, alert.id) == [("hook", "fired")]
    assert (await store.findings.anomalies_since(T0 - timedelta(hours=1)))[0].alert_id == alert.id
    [again] = await service.process_anomalies(
        [make_anomaly(detected_at=T0 + timedelta(minutes=1))], T0 + timedelta(minutes=1)
    )
    assert again.id == alert.id
    assert again.occurrences == 2
    assert await queued(store, alert.id) == [("hook", "fired"), ("hook", "updated")]
    events = [e.action for e in await store.alerts.events(alert.id)]
    assert events == ["fired"]


async def test_ack_stops_escalation_and_is_audited(
    service: AlertService, store: Store, clock: FrozenClock
) -> None:
    [alert] = await service.process_anomalies([make_anomaly()], T0)
    clock.advance(timedelta(minutes=2))
    t = await service.act("ack", alert.id, ALICE, note="looking")
    assert t.alert.status is AlertStatus.ACKNOWLEDGED
    assert "acknowledged" in t.note
    [*_, ack] = await store.alerts.events(alert.id)
    assert (ack.action, ack.actor, ack.source, ack.details.get("note")) == (
        "acknowledged",
        "alice (slack:U1)",
        ActorSource.SLACK,
        "looking",
    )
    assert await service.tick(T0 + timedelta(minutes=15)) == 0
    assert ("pager", "fired") not in await queued(store, alert.id)
    assert ("hook", "acknowledged") in await queued(store, alert.id)
    with pytest.raises(InvalidTransition):
        await service.act("ack", alert.id, ALICE)


async def test_unacknowledged_alert_escalates_after_the_step_delay(
    service: AlertService, store: Store
) -> None:
    [alert] = await service.process_anomalies([make_anomaly()], T0)
    assert await service.tick(T0 + timedelta(minutes=9)) == 0
    await service.tick(T0 + timedelta(minutes=10, seconds=5))
    sent = await queued(store, alert.id)
    assert sent[0] == ("hook", "fired")
    assert any(channel == "pager" for channel, _ in sent)
    [pager] = [d for d in await store.deliveries.for_alert(alert.id) if d.channel == "pager"]
    assert pager.mention == ("@oncall",)


async def test_refused_action_tells_why_and_is_audited(service: AlertService, store: Store) -> None:
    [alert] = await service.process_anomalies([make_anomaly()], T0)
    with pytest.raises(PermissionDenied, match=r"permissions\.resolve"):
        await service.act("resolve", alert.id, MALLORY)
    refused = [e for e in await store.alerts.events(alert.id) if e.action == "refused"]
    assert refused[0].actor == f"mallory (mattermost:{MALLORY_ID})"
    assert refused[0].details["user_id"] == f"mattermost:{MALLORY_ID}"
    assert refused[0].details["attempted"] == "resolve"
    assert (await store.alerts.get(alert.id)).status is AlertStatus.OPEN  # type: ignore[union-attr]


async def test_unknown_alert(service: AlertService) -> None:
    with pytest.raises(NotFound, match="#999"):
        await service.act("ack", 999, ALICE)


async def test_quiet_alert_auto_resolves_with_a_notice(service: AlertService, store: Store) -> None:
    [alert] = await service.process_anomalies([make_anomaly()], T0)
    await service.act("ack", alert.id, ALICE)
    assert await service.tick(T0 + timedelta(minutes=29)) == 0
    assert await service.tick(T0 + timedelta(minutes=31)) == 1
    resolved = await store.alerts.get(alert.id)
    assert resolved is not None
    assert resolved.status is AlertStatus.RESOLVED
    assert ("hook", "resolved") in await queued(store, alert.id)


async def test_silence_mutes_matching_alerts(service: AlertService, store: Store) -> None:
    silence, note = await service.silence(
        SilenceMatch(operation="comm*"), timedelta(hours=1), "deploy", ALICE
    )
    assert "silence #" in note
    [alert] = await service.process_anomalies([make_anomaly()], T0)
    assert alert.silence_id == silence.id
    assert await queued(store, alert.id) == []
    with pytest.raises(PermissionDenied):
        await service.unsilence(silence.id, MALLORY)
    note = await service.unsilence(silence.id, ALICE)
    assert "ended" in note
    assert ("hook", "fired") in await queued(store, alert.id)


async def test_bottleneck_groups_the_anomaly_alerts_of_its_operations(
    service: AlertService, store: Store
) -> None:
    ops = ("merge_base_find", "merge_branches", "merge_conflict_detect")
    children = await service.process_anomalies([make_anomaly(operation_type=op) for op in ops], T0)
    corr = await store.findings.add_correlations(
        [make_correlation(ops[0], ops[1], 0.95), make_correlation(ops[1], ops[2], 0.92)]
    )
    [parent] = await service.process_correlations(corr, T0 + timedelta(minutes=1))
    assert parent.kind == "bottleneck"
    assert set(parent.operation_types) == set(ops)
    assert parent.severity is Severity.CRITICAL
    for child in children:
        stored = await store.alerts.get(child.id)
        assert stored is not None
        assert stored.parent_id == parent.id
    pairs = await store.findings.correlations_since(T0 - timedelta(hours=1))
    assert pairs[0].alert_id == parent.id


async def test_counts_are_the_unresolved_alerts_by_status_and_severity(
    service: AlertService, store: Store
) -> None:
    assert await store.alerts.counts() == {}
    found = [
        make_anomaly(operation_type="commit", severity=Severity.CRITICAL),
        make_anomaly(operation_type="merge", severity=Severity.CRITICAL),
        make_anomaly(operation_type="get_history", severity=Severity.WARNING),
        make_anomaly(operation_type="rollback", severity=Severity.WARNING),
        make_anomaly(operation_type="branch_create", severity=Severity.WARNING),
    ]
    _, merge, history, rollback, _ = await service.process_anomalies(found, T0)
    await service.act("ack", merge.id, ALICE)
    await service.act("ack", history.id, ALICE)
    await service.act("resolve", rollback.id, ALICE)
    assert await store.alerts.counts() == {
        (AlertStatus.OPEN, Severity.CRITICAL): 1,
        (AlertStatus.OPEN, Severity.WARNING): 1,
        (AlertStatus.ACKNOWLEDGED, Severity.CRITICAL): 1,
        (AlertStatus.ACKNOWLEDGED, Severity.WARNING): 1,
    }

"""PagerDutyNotifier against the Events API v2 stand-in."""

import pytest

from bot.errors import NotifyError
from bot.models import AlertStatus
from bot.notify.pagerduty import PagerDutyNotifier
from tests.fakes.pagerduty import ROUTING_KEY, PagerDutyFake
from tests.unit.notify.factories import make_alert, make_notification


def notifier(
    fake: PagerDutyFake, *, key: str = ROUTING_KEY, timeout: float = 2.0
) -> PagerDutyNotifier:
    return PagerDutyNotifier("pager", routing_key=key, events_url=fake.events_url, timeout=timeout)


async def test_trigger_acknowledge_resolve(pagerduty_fake):
    pager = notifier(pagerduty_fake)
    try:
        ref = await pager.send(make_notification())
        assert ref == {"dedup_key": "anomaly:commit"}
        assert pagerduty_fake.incidents == {"anomaly:commit": "triggered"}
        acked = make_alert(status=AlertStatus.ACKNOWLEDGED, acknowledged_by="alice")
        assert await pager.send(make_notification("acknowledged", acked, previous=ref)) == ref
        assert pagerduty_fake.incidents["anomaly:commit"] == "acknowledged"
        await pager.send(
            make_notification("resolved", make_alert(status=AlertStatus.RESOLVED), previous=ref)
        )
        assert pagerduty_fake.incidents["anomaly:commit"] == "resolved"
    finally:
        await pager.aclose()
    trigger, ack, resolve = pagerduty_fake.events
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["client"] == "perfbot"
    assert [e["event_action"] for e in (trigger, ack, resolve)] == [
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert pagerduty_fake.calls[0].headers["Content-Type"] == "application/json"


async def test_invalid_event_is_permanent(pagerduty_fake):
    pager = notifier(pagerduty_fake, key="short")
    with pytest.raises(NotifyError) as caught:
        await pager.send(make_notification())
    await pager.aclose()
    assert caught.value.permanent
    assert caught.value.status == 400
    assert "routing_key" in caught.value.reason
    assert not pagerduty_fake.events


async def test_throttled_is_retryable_after(pagerduty_fake):
    pagerduty_fake.fail(429, retry_after=30)
    pager = notifier(pagerduty_fake)
    with pytest.raises(NotifyError) as caught:
        await pager.send(make_notification())
    assert caught.value.retry_after == 30.0
    assert not caught.value.permanent
    assert await pager.send(make_notification()) is not None  # the next one goes through
    await pager.aclose()


async def test_server_error_and_hang_are_retryable(pagerduty_fake):
    pager = notifier(pagerduty_fake, timeout=0.3)
    pagerduty_fake.fail(502)
    with pytest.raises(NotifyError) as caught:
        await pager.send(make_notification())
    assert (caught.value.status, caught.value.permanent) == (502, False)
    pagerduty_fake.hang()
    with pytest.raises(NotifyError) as caught:
        await pager.send(make_notification())
    assert not caught.value.permanent
    assert "within 0.3 s" in caught.value.reason
    await pager.aclose()


async def test_down_is_retryable(pagerduty_fake):
    await pagerduty_fake.down()
    pager = notifier(pagerduty_fake)
    with pytest.raises(NotifyError) as caught:
        await pager.send(make_notification())
    await pager.aclose()
    assert not caught.value.permanent
    assert "cannot reach 127.0.0.1" in caught.value.reason

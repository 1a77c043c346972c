from datetime import datetime, timedelta

from bot.config import DeliverySettings
from bot.routing.breaker import Breaker, BreakerState
from tests.unit.routing.factories import NOW


def at(s: float) -> datetime:
    return NOW + timedelta(seconds=s)


def test_opens_after_consecutive_failures_only() -> None:
    breaker = Breaker(failures_to_open=3, cooldown=timedelta(seconds=60))
    breaker = breaker.failure(at(0)).failure(at(1)).success().failure(at(2)).failure(at(3))
    assert breaker.state is BreakerState.CLOSED
    breaker = breaker.failure(at(4))
    assert breaker.state is BreakerState.OPEN
    assert breaker.allow(at(30)) == (breaker, False)
    assert breaker.retry_in(at(30)) == 34.0


def test_half_open_probe_closes_on_success() -> None:
    breaker = Breaker(failures_to_open=1, cooldown=timedelta(seconds=60)).failure(at(0))
    breaker, allowed = breaker.allow(at(60))
    assert (breaker.state, allowed) == (BreakerState.HALF_OPEN, True)
    assert breaker.allow(at(61))[1] is False  # one probe at a time
    breaker = breaker.success()
    assert (breaker.state, breaker.failures, breaker.allow(at(62))[1]) == (
        BreakerState.CLOSED,
        0,
        True,
    )


def test_half_open_probe_failure_reopens_for_another_cooldown() -> None:
    breaker = Breaker(failures_to_open=1, cooldown=timedelta(seconds=60)).failure(at(0))
    breaker, _ = breaker.allow(at(60))
    breaker = breaker.failure(at(61))
    assert breaker.state is BreakerState.OPEN
    assert breaker.allow(at(120))[1] is False
    assert breaker.allow(at(121))[1] is True


def test_a_lost_probe_is_replaced_after_a_cooldown() -> None:
    breaker = Breaker(failures_to_open=1, cooldown=timedelta(seconds=60)).failure(at(0))
    breaker, _ = breaker.allow(at(60))
    assert breaker.allow(at(119))[1] is False
    breaker, allowed = breaker.allow(at(120))
    assert allowed
    assert breaker.probe_at == at(120)


def test_status_for_healthz() -> None:
    breaker = Breaker(failures_to_open=2, cooldown=timedelta(seconds=60))
    assert breaker.status(at(0)) == {"state": "closed", "failures": 0, "retry_in_s": 0.0}
    opened = breaker.failure(at(0)).failure(at(1))
    assert opened.status(at(11)) == {"state": "open", "failures": 2, "retry_in_s": 50.0}


def test_delivery_settings_default_to_the_breaker_defaults() -> None:
    settings = DeliverySettings()
    assert (settings.breaker_failures, settings.breaker_cooldown) == (5, timedelta(seconds=60))
    assert Breaker(settings.breaker_failures, settings.breaker_cooldown) == Breaker()

"""The delivery policy for a message that cannot be rendered: dead at once with the reason,
a CRITICAL's copy on the fallback channel, and the destination untouched: its circuit is not
told, a half-open circuit's probe slot and the admitted rate-limit token are given back."""

from dataclasses import replace
from typing import Any

import pytest

from bot.models import Severity
from bot.routing.attempt import (
    Dead,
    Fallback,
    Unrenderable,
    admit,
    decide,
)
from bot.routing.backoff import RetryPolicy
from bot.routing.breaker import Breaker, BreakerState
from bot.routing.ratelimit import TokenBucket
from tests.unit.routing.factories import NOW, make_delivery
from tests.unit.routing.test_attempt import (
    CLOSED,
    CRITICAL,
    FAILING,
    PROBING,
    WARNING,
    Ceiling,
    s,
)

BROKEN = Unrenderable("ValueError: Header values may not contain linefeed")
ERROR = (
    "cannot render the message: ValueError: Header values may not contain linefeed (not retried)"
)
FULL = TokenBucket(rate=1.0, burst=3, tokens=3.0, updated_at=NOW)
ONE_LEFT = TokenBucket(rate=1.0, burst=3, tokens=1.0, updated_at=NOW)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(
            {},
            Dead(error=ERROR, breaker=CLOSED),
            id="warning-dead-circuit-unchanged",
        ),
        pytest.param(
            {"delivery": make_delivery(attempts=1)},
            Dead(error=ERROR, breaker=CLOSED),
            id="first-attempt-is-also-the-last",
        ),
        pytest.param(
            {"breaker": FAILING},
            Dead(error=ERROR, breaker=FAILING),
            id="one-failure-from-open-stays-closed",
        ),
        pytest.param(
            {"breaker": PROBING},
            Dead(error=ERROR, breaker=replace(PROBING, probe_at=None)),
            id="half-open-probe-slot-released",
        ),
        pytest.param(
            {"delivery": CRITICAL},
            Dead(error=ERROR, breaker=CLOSED, fallback=Fallback("email", ERROR)),
            id="critical-copied-to-the-fallback",
        ),
        pytest.param(
            {"delivery": make_delivery(severity=Severity.CRITICAL, is_fallback=True)},
            Dead(error=ERROR, breaker=CLOSED),
            id="a-fallback-copy-is-not-copied-again",
        ),
        pytest.param(
            {"delivery": make_delivery(severity=Severity.CRITICAL, channel="email")},
            Dead(error=ERROR, breaker=CLOSED),
            id="not-copied-onto-its-own-channel",
        ),
        pytest.param(
            {"bucket": replace(ONE_LEFT, tokens=0.0)},
            Dead(error=ERROR, breaker=CLOSED, bucket=ONE_LEFT),
            id="rate-limit-token-given-back",
        ),
        pytest.param(
            {"bucket": FULL},
            Dead(error=ERROR, breaker=CLOSED, bucket=FULL),
            id="never-above-burst",
        ),
    ],
)
def test_decide_unrenderable(given: dict[str, Any], expected: Dead) -> None:
    values: dict[str, Any] = {
        "delivery": WARNING,
        "breaker": CLOSED,
        "bucket": None,
        "fallback": "email",
    } | given
    decision = decide(
        BROKEN,
        values["delivery"],
        breaker=values["breaker"],
        bucket=values["bucket"],
        policy=RetryPolicy(),
        fallback=values["fallback"],
        rng=Ceiling(),
        now=NOW,
    )
    assert decision == expected
    assert decision.outcome == "dead"


def test_many_unrenderable_never_open_the_circuit_nor_hold_others() -> None:
    """Ten unrenderable deliveries in a row on a channel whose circuit opens after 3 failures:
    each is admitted at once, and the next real delivery is admitted right after."""
    breaker = Breaker(failures_to_open=3, cooldown=s(60))
    bucket: TokenBucket | None = TokenBucket(rate=1.0, burst=1)
    for _ in range(10):
        gate = admit(
            WARNING,
            configured=True,
            alert_exists=True,
            breaker=breaker,
            bucket=bucket,
            fallback=None,
            now=NOW,
        )
        assert gate.breaker is not None
        breaker, bucket = gate.breaker, gate.bucket
        decision = decide(
            BROKEN,
            WARNING,
            breaker=breaker,
            bucket=bucket,
            policy=RetryPolicy(),
            fallback=None,
            rng=Ceiling(),
            now=NOW,
        )
        assert decision.breaker is not None
        breaker, bucket = decision.breaker, decision.bucket
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failures == 0
    real = admit(
        CRITICAL,
        configured=True,
        alert_exists=True,
        breaker=breaker,
        bucket=bucket,
        fallback=None,
        now=NOW,
    )
    assert type(real).__name__ == "Admitted"


def test_a_released_probe_lets_the_next_delivery_probe_at_once() -> None:
    opened = replace(CLOSED, state=BreakerState.OPEN, failures=3, opened_at=NOW - s(61))
    probing, allowed = opened.allow(NOW)
    assert allowed
    assert probing.allow(NOW)[1] is False  # a probe is in flight
    released = probing.released()
    assert released.retry_in(NOW) == 0.0
    again, allowed = released.allow(NOW)
    assert allowed
    assert again.probe_at == NOW
    assert CLOSED.released() is CLOSED

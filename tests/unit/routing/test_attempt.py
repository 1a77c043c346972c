import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.models import Delivery, Severity
from bot.routing.attempt import (
    CRASHED,
    DELIVERED,
    TIMED_OUT,
    Admitted,
    Dead,
    Defer,
    Delivered,
    Failed,
    Fallback,
    Retry,
    Sent,
    admit,
    decide,
)
from bot.routing.backoff import RetryPolicy
from bot.routing.breaker import Breaker, BreakerState
from bot.routing.ratelimit import TokenBucket
from tests.unit.routing.factories import NOW, make_delivery

POLICY = RetryPolicy(base=timedelta(seconds=5), cap=timedelta(minutes=5), max_attempts=5)
CLOSED = Breaker(failures_to_open=3, cooldown=timedelta(seconds=60))
FAILING = replace(CLOSED, failures=2)  # one more failure opens it
OPEN = replace(CLOSED, state=BreakerState.OPEN, failures=3, opened_at=NOW - timedelta(seconds=20))
PROBING = replace(CLOSED, state=BreakerState.HALF_OPEN, failures=3, probe_at=NOW)
OPENED = replace(CLOSED, state=BreakerState.OPEN, failures=3, opened_at=NOW)  # by a failure now
BUCKET = TokenBucket(rate=1.0, burst=3)
SPENT = TokenBucket(rate=1.0, burst=3, tokens=0.5, updated_at=NOW)  # half a token: wait 0.5 s

WARNING = make_delivery()
CRITICAL = make_delivery(severity=Severity.CRITICAL)
LAST = make_delivery(attempts=5)  # POLICY allows 5
CRITICAL_LAST = make_delivery(severity=Severity.CRITICAL, attempts=5)
COPY = make_delivery(severity=Severity.CRITICAL, attempts=5, is_fallback=True)
ON_FALLBACK = make_delivery(severity=Severity.CRITICAL, attempts=5, channel="email")


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def blocked(rate: float, burst: int, seconds: float) -> TokenBucket:
    """A bucket after a 429 asked for `seconds` at NOW: one token ready when the block ends."""
    until = NOW + s(seconds)
    return TokenBucket(rate, burst, tokens=1.0, updated_at=until, blocked_until=until)


class Ceiling(random.Random):
    """Full jitter at its top: the backoff delay is base·2^(attempt-1), capped."""

    def uniform(self, a: float, b: float) -> float:
        return b


def gate(
    delivery: Delivery = WARNING,
    *,
    configured: bool = True,
    alert_exists: bool = True,
    breaker: Breaker = CLOSED,
    bucket: TokenBucket | None = None,
    fallback: str | None = "email",
) -> Admitted | Defer | Dead:
    return admit(
        delivery,
        configured=configured,
        alert_exists=alert_exists,
        breaker=breaker,
        bucket=bucket,
        fallback=fallback,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param({}, Admitted(breaker=CLOSED), id="send"),
        pytest.param(
            {"bucket": BUCKET},
            Admitted(breaker=CLOSED, bucket=TokenBucket(1.0, 3, tokens=2.0, updated_at=NOW)),
            id="send-taking-a-token",
        ),
        pytest.param(
            {"bucket": SPENT},
            Defer(at=NOW + s(0.5), error=None, outcome="rate_limited", bucket=SPENT),
            id="rate-limited",
        ),
        pytest.param(
            {"delivery": CRITICAL, "bucket": SPENT},
            Defer(at=NOW + s(0.5), error=None, outcome="rate_limited", bucket=SPENT),
            id="rate-limited-critical-has-no-fallback",
        ),
        pytest.param(
            {"breaker": OPEN},
            Defer(at=NOW + s(40), error="circuit open", outcome="circuit_open", breaker=OPEN),
            id="circuit-already-open",
        ),
        pytest.param(
            {"delivery": CRITICAL, "breaker": OPEN},
            Defer(
                at=NOW + s(40),
                error="circuit open",
                outcome="circuit_open",
                fallback=Fallback("email", "circuit open"),
                breaker=OPEN,
            ),
            id="circuit-already-open-critical-to-fallback",
        ),
        pytest.param(
            {"delivery": CRITICAL, "breaker": OPEN, "fallback": None},
            Defer(at=NOW + s(40), error="circuit open", outcome="circuit_open", breaker=OPEN),
            id="circuit-already-open-critical-no-fallback-configured",
        ),
        pytest.param(
            {"breaker": OPEN, "bucket": BUCKET},
            Defer(
                at=NOW + s(40),
                error="circuit open",
                outcome="circuit_open",
                breaker=OPEN,
                bucket=TokenBucket(1.0, 3, tokens=2.0, updated_at=NOW),
            ),
            id="circuit-open-after-the-token-was-taken",
        ),
        pytest.param(
            {"breaker": replace(PROBING, probe_at=NOW - s(59.95))},
            Defer(
                at=NOW + s(0.1),
                error="circuit open",
                outcome="circuit_open",
                breaker=replace(PROBING, probe_at=NOW - s(59.95)),
            ),
            id="probe-in-flight-waits-at-least-0.1s",
        ),
        pytest.param(
            {"breaker": replace(OPEN, opened_at=NOW - s(60))},
            Admitted(
                breaker=replace(
                    OPEN, state=BreakerState.HALF_OPEN, opened_at=NOW - s(60), probe_at=NOW
                )
            ),
            id="cooldown-over-send-a-probe",
        ),
        pytest.param(
            {"configured": False, "breaker": OPEN, "bucket": SPENT},
            Dead(error="channel 'hook' is not configured"),
            id="unknown-channel",
        ),
        pytest.param(
            {"delivery": CRITICAL, "configured": False},
            Dead(
                error="channel 'hook' is not configured",
                fallback=Fallback("email", "channel 'hook' is not configured"),
            ),
            id="unknown-channel-critical-to-fallback",
        ),
        pytest.param(
            {"alert_exists": False, "bucket": BUCKET},
            Dead(
                error="alert #42 no longer exists",
                breaker=CLOSED,
                bucket=TokenBucket(1.0, 3, tokens=2.0, updated_at=NOW),
            ),
            id="alert-gone",
        ),
        pytest.param(
            {"delivery": CRITICAL, "alert_exists": False},
            Dead(
                error="alert #42 no longer exists",
                fallback=Fallback("email", "alert #42 no longer exists"),
                breaker=CLOSED,
            ),
            id="alert-gone-critical-to-fallback",
        ),
        pytest.param(
            {"delivery": COPY, "configured": False},
            Dead(error="channel 'hook' is not configured"),
            id="fallback-copy-has-no-fallback",
        ),
    ],
)
def test_admit(given: dict[str, Any], expected: Admitted | Defer | Dead) -> None:
    assert gate(**given) == expected


def judge(
    result: Delivered | Failed,
    delivery: Delivery = WARNING,
    *,
    breaker: Breaker = CLOSED,
    bucket: TokenBucket | None = None,
    fallback: str | None = "email",
) -> Sent | Retry | Defer | Dead:
    return decide(
        result,
        delivery,
        breaker=breaker,
        bucket=bucket,
        policy=POLICY,
        fallback=fallback,
        rng=Ceiling(),
        now=NOW,
    )


HTTP_503 = Failed("HTTP 503", 503)
HTTP_404 = Failed("HTTP 404", 404, permanent=True)
GONE_503 = "HTTP 503 (gave up after 5 attempts (last: HTTP 503))"
NOT_RETRIED_404 = "HTTP 404 (permanent failure (HTTP 404); not retried)"


@pytest.mark.parametrize(
    ("result", "given", "expected"),
    [
        pytest.param(DELIVERED, {}, Sent(breaker=CLOSED), id="sent"),
        pytest.param(
            DELIVERED, {"breaker": FAILING}, Sent(breaker=CLOSED), id="sent-resets-failures"
        ),
        pytest.param(DELIVERED, {"breaker": PROBING}, Sent(breaker=CLOSED), id="probe-closes"),
        pytest.param(
            Failed("HTTP 429", 429, retry_after=2.0),
            {"bucket": BUCKET},
            Defer(
                at=NOW + s(2),
                error="HTTP 429 (rate limited)",
                outcome="rate_limited",
                bucket=blocked(1.0, 3, 2),
            ),
            id="429-with-retry-after-blocks-the-bucket",
        ),
        pytest.param(
            Failed("HTTP 429", 429),
            {"delivery": make_delivery(attempts=3)},
            Defer(
                at=NOW + s(20),
                error="HTTP 429 (rate limited)",
                outcome="rate_limited",
                bucket=blocked(1000.0, 1000, 20),
            ),
            id="429-without-retry-after-waits-a-backoff-on-an-unlimited-type",
        ),
        pytest.param(
            Failed("HTTP 429", 429, retry_after=0.0),
            {},
            Defer(
                at=NOW + s(5),
                error="HTTP 429 (rate limited)",
                outcome="rate_limited",
                bucket=blocked(1000.0, 1000, 5),
            ),
            id="429-with-retry-after-0-waits-a-backoff",
        ),
        pytest.param(
            Failed("HTTP 429", 429, retry_after=1.0),
            {"delivery": CRITICAL_LAST, "breaker": FAILING},
            Defer(
                at=NOW + s(1),
                error="HTTP 429 (rate limited)",
                outcome="rate_limited",
                bucket=blocked(1000.0, 1000, 1),
            ),
            id="429-uses-no-attempt-nor-the-circuit-nor-the-fallback",
        ),
        pytest.param(
            Failed("HTTP 429", 429, retry_after=1e9),
            {},
            Defer(
                at=NOW + s(3600),
                error="HTTP 429 (rate limited)",
                outcome="rate_limited",
                bucket=blocked(1000.0, 1000, 3600),
            ),
            id="429-asking-for-31-years-waits-retry-after-max",
        ),
        *(
            pytest.param(
                Failed("HTTP 429", 429, retry_after=bad),
                {},
                Defer(
                    at=NOW + s(5),
                    error="HTTP 429 (rate limited)",
                    outcome="rate_limited",
                    bucket=blocked(1000.0, 1000, 5),
                ),
                id=f"429-with-retry-after-{bad}-waits-a-backoff",
            )
            for bad in (float("inf"), float("nan"), -1.0)
        ),
        pytest.param(
            Failed("HTTP 503", 503, retry_after=float("inf")),
            {},
            Retry(
                at=NOW + s(5),
                error="HTTP 503 (HTTP 503; retry 2 in 5.0s)",
                cause="HTTP 503",
                status=503,
                breaker=replace(CLOSED, failures=1),
            ),
            id="5xx-with-an-infinite-retry-after-retries-on-the-backoff",
        ),
        pytest.param(
            HTTP_503,
            {},
            Retry(
                at=NOW + s(5),
                error="HTTP 503 (HTTP 503; retry 2 in 5.0s)",
                cause="HTTP 503",
                status=503,
                breaker=replace(CLOSED, failures=1),
            ),
            id="5xx-retries-circuit-stays-closed",
        ),
        pytest.param(
            Failed("HTTP 502", 502, retry_after=30.0),
            {"delivery": make_delivery(attempts=2)},
            Retry(
                at=NOW + s(30),
                error="HTTP 502 (HTTP 502; retry 3 in 30.0s)",
                cause="HTTP 502",
                status=502,
                breaker=replace(CLOSED, failures=1),
            ),
            id="5xx-retry-after-is-a-floor",
        ),
        pytest.param(
            TIMED_OUT,
            {"delivery": make_delivery(attempts=2), "breaker": replace(CLOSED, failures=1)},
            Retry(
                at=NOW + s(10),
                error="timed out (no response; retry 3 in 10.0s)",
                cause="timed out",
                status=None,
                breaker=replace(CLOSED, failures=2),
            ),
            id="timeout-retries",
        ),
        pytest.param(
            CRASHED,
            {},
            Retry(
                at=NOW + s(5),
                error="internal error in perfbot; see its log (no response; retry 2 in 5.0s)",
                cause="internal error in perfbot; see its log",
                status=None,
                breaker=replace(CLOSED, failures=1),
            ),
            id="crash-retries",
        ),
        pytest.param(
            HTTP_503,
            {"breaker": FAILING},
            Defer(
                at=NOW + s(60),
                error="HTTP 503 (circuit open)",
                outcome="circuit_open",
                breaker=OPENED,
            ),
            id="5xx-opens-the-circuit-defers",
        ),
        pytest.param(
            TIMED_OUT,
            {"delivery": CRITICAL_LAST, "breaker": FAILING},
            Defer(
                at=NOW + s(60),
                error="timed out (circuit open)",
                outcome="circuit_open",
                fallback=Fallback("email", "timed out"),
                breaker=OPENED,
            ),
            id="timeout-opens-the-circuit-critical-to-fallback-even-on-its-last-attempt",
        ),
        pytest.param(
            HTTP_503,
            {"breaker": PROBING},
            Defer(
                at=NOW + s(60),
                error="HTTP 503 (circuit open)",
                outcome="circuit_open",
                breaker=replace(OPENED, failures=4),
            ),
            id="failed-probe-opens-the-circuit-again",
        ),
        pytest.param(
            HTTP_404,
            {"breaker": FAILING},
            Dead(error=NOT_RETRIED_404, status=404),
            id="permanent-4xx-is-dead-circuit-untouched",
        ),
        pytest.param(
            Failed("HTTP 404", 404),
            {},
            Dead(error=NOT_RETRIED_404, status=404),
            id="4xx-is-permanent-even-unflagged",
        ),
        pytest.param(
            Failed("recipient refused", 500, permanent=True),
            {},
            Dead(error="recipient refused (permanent failure (HTTP 500); not retried)", status=500),
            id="notifier-says-permanent",
        ),
        pytest.param(
            HTTP_404,
            {"delivery": CRITICAL},
            Dead(error=NOT_RETRIED_404, status=404, fallback=Fallback("email", NOT_RETRIED_404)),
            id="permanent-critical-to-fallback",
        ),
        pytest.param(
            HTTP_503,
            {"delivery": LAST},
            Dead(error=GONE_503, status=503, breaker=replace(CLOSED, failures=1)),
            id="attempts-exhausted",
        ),
        pytest.param(
            HTTP_503,
            {"delivery": CRITICAL_LAST},
            Dead(
                error=GONE_503,
                status=503,
                fallback=Fallback("email", GONE_503),
                breaker=replace(CLOSED, failures=1),
            ),
            id="attempts-exhausted-critical-to-fallback",
        ),
        pytest.param(
            HTTP_503,
            {"delivery": CRITICAL_LAST, "fallback": None},
            Dead(error=GONE_503, status=503, breaker=replace(CLOSED, failures=1)),
            id="attempts-exhausted-critical-no-fallback-configured",
        ),
        pytest.param(
            HTTP_503,
            {"delivery": COPY},
            Dead(error=GONE_503, status=503, breaker=replace(CLOSED, failures=1)),
            id="attempts-exhausted-fallback-copy-has-no-fallback",
        ),
        pytest.param(
            HTTP_503,
            {"delivery": ON_FALLBACK},
            Dead(error=GONE_503, status=503, breaker=replace(CLOSED, failures=1)),
            id="attempts-exhausted-on-the-fallback-channel-itself",
        ),
    ],
)
def test_decide(
    result: Delivered | Failed, given: dict[str, Any], expected: Sent | Retry | Defer | Dead
) -> None:
    assert judge(result, **given) == expected


@pytest.mark.parametrize(
    ("decision", "outcome"),
    [
        (Sent(), "sent"),
        (Retry(at=NOW, error="e", cause="c", status=None), "retry"),
        (Defer(at=NOW, error=None, outcome="rate_limited"), "rate_limited"),
        (Defer(at=NOW, error=None, outcome="circuit_open"), "circuit_open"),
        (Dead(error="e"), "dead"),
    ],
)
def test_outcome_labels(decision: Sent | Retry | Defer | Dead, outcome: str) -> None:
    assert decision.outcome == outcome

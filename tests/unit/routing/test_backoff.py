import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import DeliverySettings, build
from bot.routing.backoff import (
    Outcome,
    RetryPolicy,
    after_failure,
    backoff_seconds,
    classify,
    honoured,
    http_date,
    parse_retry_after,
)
from tests.unit.routing.factories import NOW

POLICY = RetryPolicy(base=timedelta(seconds=5), cap=timedelta(minutes=5), max_attempts=5)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Outcome.SENT),
        (202, Outcome.SENT),
        (204, Outcome.SENT),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (502, Outcome.RETRY),
        (503, Outcome.RETRY),
        (599, Outcome.RETRY),
        (None, Outcome.RETRY),
        (400, Outcome.PERMANENT),
        (401, Outcome.PERMANENT),
        (403, Outcome.PERMANENT),
        (404, Outcome.PERMANENT),
        (408, Outcome.PERMANENT),
        (413, Outcome.PERMANENT),
        (301, Outcome.PERMANENT),
        (100, Outcome.PERMANENT),
    ],
)
def test_classify(status: int | None, expected: Outcome) -> None:
    assert classify(status) is expected


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (7, 300.0), (30, 300.0)]
)
def test_full_jitter_stays_within_bounds(attempt: int, ceiling: float) -> None:
    rng = random.Random(7)
    delays = [backoff_seconds(attempt, POLICY, rng) for _ in range(500)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > 0.9 * ceiling
    assert min(delays) < 0.1 * ceiling


def test_seeded_random_is_repeatable() -> None:
    assert [backoff_seconds(3, POLICY, random.Random(1)) for _ in range(3)] == [
        backoff_seconds(3, POLICY, random.Random(1))
    ] * 3


@pytest.mark.parametrize("retry_after", [0.0, 3.0, 30.0, 900.0])
def test_retry_after_is_a_floor_even_past_the_cap(retry_after: float) -> None:
    rng = random.Random(3)
    delays = [backoff_seconds(2, POLICY, rng, retry_after) for _ in range(200)]
    assert all(d >= retry_after for d in delays)
    assert all(d <= max(retry_after, 10.0) for d in delays)


@pytest.mark.parametrize(
    ("attempts", "status", "permanent", "dead", "reason"),
    [
        (1, 503, False, False, "HTTP 503; retry 2 in"),
        (1, None, False, False, "no response; retry 2 in"),
        (4, 429, False, False, "HTTP 429; retry 5 in"),
        (5, 503, False, True, "gave up after 5 attempts (last: HTTP 503)"),
        (1, 404, False, True, "permanent failure (HTTP 404); not retried"),
        (1, 500, True, True, "permanent failure (HTTP 500); not retried"),
    ],
)
def test_after_failure(
    attempts: int, status: int | None, permanent: bool, dead: bool, reason: str
) -> None:
    decision = after_failure(
        attempts, POLICY, random.Random(0), NOW, status=status, permanent=permanent
    )
    assert decision.dead is dead
    assert decision.reason.startswith(reason)
    if not dead:
        assert decision.retry_at is not None
        assert NOW <= decision.retry_at <= NOW + timedelta(seconds=5 * 2 ** (attempts - 1))


def test_after_failure_honours_retry_after() -> None:
    decision = after_failure(1, POLICY, random.Random(0), NOW, status=429, retry_after=42.0)
    assert decision.retry_at is not None
    assert decision.retry_at >= NOW + timedelta(seconds=42)


def test_policy_from_settings() -> None:
    assert build.retry_policy(DeliverySettings()) == POLICY


HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("1000000000", 1e9),  # as asked: the policy caps it (`honoured`)
        ("Mon, 02 Mar 2026 12:01:30 GMT", 90.0),
        ("Monday, 02-Mar-26 12:01:30 GMT", 90.0),  # RFC 850, obsolete but allowed
        ("Mon Mar  2 12:01:30 2026", 90.0),  # asctime
        ("Mon, 02 Mar 2026 12:01:30 -0000", 90.0),
        ("Mon, 02 Mar 2026 11:00:00 GMT", 0.0),  # a date in the past: now
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("inf", None),
        ("Infinity", None),
        ("-inf", None),
        ("nan", None),
        ("NaN", None),
        ("-1", None),
        ("+5", None),
        ("1e9", None),
        ("1_000", None),
        ("0x10", None),
        ("١٢", None),  # Arabic-Indic digits: str.isdigit() says yes, RFC 9110 says no
        ("soon", None),
        ("Mon, 02 Mar 2026 25:61:00 GMT", None),
        ("Mon, 99 Foo 2026 12:00:00 GMT", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    seconds = parse_retry_after(header, NOW)
    assert seconds == expected
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("1000000000", 3600.0),
        ("3599", 3599.0),
        ("Tue, 02 Mar 2027 12:00:00 GMT", 3600.0),
        ("Mon, 02 Mar 2026 12:00:10 GMT", 10.0),
    ],
)
def test_parse_retry_after_caps(header: str, expected: float) -> None:
    assert parse_retry_after(header, NOW, cap=HOUR) == expected


def test_a_date_needs_a_now() -> None:
    assert parse_retry_after("Mon, 02 Mar 2026 12:01:30 GMT", None) is None
    assert parse_retry_after("30", None) == 30.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 02 Mar 2026 12:01:30 GMT", datetime(2026, 3, 2, 12, 1, 30, tzinfo=UTC)),
        ("Mon, 02 Mar 2026 13:01:30 +0100", datetime(2026, 3, 2, 12, 1, 30, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_http_date(value: str | None, expected: datetime | None) -> None:
    assert http_date(value) == expected


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (None, None),
        (0.0, 0.0),
        (30.0, 30.0),
        (3600.0, 3600.0),
        (1e9, 3600.0),
        (math.inf, None),
        (-math.inf, None),
        (math.nan, None),
        (-1.0, None),
    ],
)
def test_honoured_is_finite_non_negative_and_capped(
    retry_after: float | None, expected: float | None
) -> None:
    assert honoured(retry_after, POLICY) == expected


@pytest.mark.parametrize("retry_after", [math.inf, math.nan, -1.0, 1e9])
def test_a_bad_or_huge_retry_after_never_breaks_the_backoff(retry_after: float) -> None:
    decision = after_failure(1, POLICY, random.Random(0), NOW, status=503, retry_after=retry_after)
    assert decision.retry_at is not None
    assert NOW <= decision.retry_at <= NOW + HOUR


def test_retry_after_max_is_a_setting() -> None:
    settings = DeliverySettings.model_validate({"retry_after_max": "2h"})
    assert build.retry_policy(settings).retry_after_max == timedelta(hours=2)
    assert DeliverySettings().retry_after_max == HOUR
    with pytest.raises(ValueError, match="positive"):
        DeliverySettings.model_validate({"retry_after_max": "0s"})

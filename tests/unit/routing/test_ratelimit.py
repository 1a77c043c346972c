from datetime import timedelta

import pytest

from bot.routing.ratelimit import RateLimiter, TokenBucket
from tests.unit.routing.factories import NOW


def seconds(s: float) -> timedelta:
    return timedelta(seconds=s)


def test_burst_then_one_per_second() -> None:
    bucket = TokenBucket(rate=1.0, burst=3)
    waits = []
    for offset in (0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 4.0, 4.0, 4.0, 4.0):
        bucket, wait = bucket.take(NOW + seconds(offset))
        waits.append(round(wait, 3))
    assert waits == [0.0, 0.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]


def test_refill_never_exceeds_burst_and_ignores_clock_going_back() -> None:
    bucket, _ = TokenBucket(rate=2.0, burst=2).take(NOW)
    bucket, _ = bucket.take(NOW + seconds(3600))
    assert bucket.tokens == pytest.approx(1.0)
    bucket, wait = bucket.take(NOW)  # earlier than the last call: no refill, no crash
    assert bucket.tokens == pytest.approx(0.0)
    assert wait == 0.0


def test_block_honours_retry_after_then_sends_at_once() -> None:
    bucket = TokenBucket(rate=1.0, burst=3).block(NOW, 30.0)
    bucket, wait = bucket.take(NOW + seconds(10))
    assert wait == pytest.approx(20.0)
    bucket, wait = bucket.take(NOW + seconds(30))
    assert wait == 0.0
    bucket, wait = bucket.take(NOW + seconds(30))
    assert wait == pytest.approx(1.0)


def test_a_shorter_block_does_not_shorten_a_longer_one() -> None:
    bucket = TokenBucket(rate=1.0, burst=1).block(NOW, 60.0).block(NOW, 5.0)
    assert bucket.take(NOW + seconds(10))[1] == pytest.approx(50.0)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_invalid_bucket(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(rate=rate, burst=burst)


def take(limiter: RateLimiter, destination: str, offset: float) -> float:
    bucket, wait = limiter.bucket(destination).take(NOW + seconds(offset))
    limiter.keep(destination, bucket)
    return wait


def test_limiter_keeps_one_bucket_per_destination() -> None:
    limiter = RateLimiter(rate=1.0, burst=1)
    assert [
        take(limiter, "slack:#a", 0),
        take(limiter, "slack:#a", 0),
        take(limiter, "slack:#b", 0),
    ] == [0.0, 1.0, 0.0]
    limiter.keep("slack:#b", limiter.bucket("slack:#b").block(NOW, 10.0))
    assert take(limiter, "slack:#b", 1) == pytest.approx(9.0)

"""What one worker process knows of each destination (channel): its circuit breaker and its
rate-limit bucket. The delivery policy (`bot.routing.attempt`) decides on these values; `keep`
stores what it decided. The state is per process: each replica keeps its own."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.routing.breaker import Breaker
from bot.routing.ratelimit import RateLimiter, TokenBucket


class Destinations:
    """Breakers by channel name; rate limiters by channel type (`rate_limits`: messages per
    second per destination; a type not listed, or listed at 0, is not limited)."""

    def __init__(
        self,
        channel_types: Mapping[str, str],
        rate_limits: Mapping[str, float],
        burst: int,
        failures_to_open: int,
        cooldown: timedelta,
    ) -> None:
        self._types = channel_types
        self._limiters = {
            kind: RateLimiter(rate, burst) for kind, rate in rate_limits.items() if rate > 0
        }
        self._closed = Breaker(failures_to_open, cooldown)
        self._breakers: dict[str, Breaker] = {}

    def breaker(self, channel: str) -> Breaker:
        """`channel`'s circuit breaker as it stands (closed until a decision keeps one)."""
        return self._breakers.get(channel, self._closed)

    def bucket(self, channel: str) -> TokenBucket | None:
        """`channel`'s rate-limit bucket as it stands; None when its type is not limited."""
        limiter = self._limiters.get(self._types.get(channel, ""))
        return limiter.bucket(channel) if limiter else None

    def keep(self, channel: str, breaker: Breaker | None, bucket: TokenBucket | None) -> None:
        """`channel`'s breaker and bucket from now on (None: unchanged). A bucket for a type
        without a limiter (a 429's block) gives that type a limiter of the bucket's rate."""
        if breaker is not None:
            self._breakers[channel] = breaker
        if bucket is not None:
            kind = self._types.get(channel, "")
            limiter = self._limiters.get(kind)
            if limiter is None:
                limiter = self._limiters[kind] = RateLimiter(bucket.rate, bucket.burst)
            limiter.keep(channel, bucket)

    def health(self, now: datetime) -> dict[str, Any]:
        """Circuit state per channel that has one, for /healthz."""
        return {channel: breaker.status(now) for channel, breaker in self._breakers.items()}

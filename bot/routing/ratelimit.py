"""Per-destination rate limits: a token bucket per channel (Slack allows about one message per
second per channel; PagerDuty about 120 events a minute per key).

Buckets are immutable values with time passed in: `take(now)` returns the new bucket and the
seconds to wait before sending (0: send now, a token was taken; otherwise nothing was taken,
try again then). A destination that answered 429 with `Retry-After` is `block`ed until then.
`RateLimiter` holds one bucket per destination for one process; the delivery policy
(`bot.routing.attempt`) decides on the buckets and the worker keeps what it decided."""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class TokenBucket:
    """`rate` tokens per second up to `burst`; starts full."""

    rate: float
    burst: int
    tokens: float = -1.0  # -1: full at the first call
    updated_at: datetime | None = None
    blocked_until: datetime | None = None

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")

    def _refilled(self, now: datetime) -> "TokenBucket":
        if self.updated_at is None or self.tokens < 0:
            return replace(self, tokens=float(self.burst), updated_at=now)
        elapsed = max(0.0, (now - self.updated_at).total_seconds())  # a clock step back adds 0
        tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        return replace(self, tokens=tokens, updated_at=max(now, self.updated_at))

    def take(self, now: datetime) -> tuple["TokenBucket", float]:
        """(new bucket, seconds to wait): 0.0 means a token was taken and you may send."""
        bucket = self._refilled(now)
        if bucket.blocked_until is not None and now < bucket.blocked_until:
            return bucket, (bucket.blocked_until - now).total_seconds()
        if bucket.tokens >= 1.0:
            return replace(bucket, tokens=bucket.tokens - 1.0), 0.0
        return bucket, (1.0 - bucket.tokens) / bucket.rate

    def refund(self) -> "TokenBucket":
        """The bucket with the token of a send that never happened given back (at most up to
        `burst`)."""
        if self.tokens < 0:
            return self  # still full
        return replace(self, tokens=min(float(self.burst), self.tokens + 1.0))

    def block(self, now: datetime, seconds: float) -> "TokenBucket":
        """No sending for `seconds` from `now` (a 429's Retry-After); then one token is ready
        and the bucket refills from there."""
        bucket = self._refilled(now)
        until = now + timedelta(seconds=max(0.0, seconds))
        if bucket.blocked_until is not None and bucket.blocked_until > until:
            until = bucket.blocked_until
        return replace(bucket, tokens=1.0, updated_at=until, blocked_until=until)


@dataclass
class RateLimiter:
    """One bucket per destination, created full on first use with `rate` and `burst`."""

    rate: float
    burst: int
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def bucket(self, destination: str) -> TokenBucket:
        """`destination`'s bucket as it stands (a new, full one on first use)."""
        return self.buckets.get(destination) or TokenBucket(self.rate, self.burst)

    def keep(self, destination: str, bucket: TokenBucket) -> None:
        """`bucket` is `destination`'s from now on (after a `take` or a `block`)."""
        self.buckets[destination] = bucket

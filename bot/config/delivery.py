"""The `delivery:` section: retries, timeouts, rate limits and circuit breakers of the delivery
worker (`bot.config.build.retry_policy` turns the retry part into a `RetryPolicy`). The retry
and breaker defaults come from the routing core's `RetryPolicy` and `Breaker`, so they are
written once."""

from datetime import timedelta

from pydantic import Field, field_validator

from bot.config.section import Section
from bot.durations import Duration
from bot.routing.backoff import RetryPolicy
from bot.routing.breaker import Breaker


class DeliverySettings(Section):
    max_attempts: int = Field(default=RetryPolicy.max_attempts, ge=1)
    backoff_base: Duration = RetryPolicy.base
    backoff_max: Duration = RetryPolicy.cap
    # The longest a destination's Retry-After is honoured (a 429 asking for more waits this long).
    retry_after_max: Duration = RetryPolicy.retry_after_max
    fallback: str | None = None
    timeout: Duration = timedelta(seconds=10)
    lease: Duration = timedelta(seconds=60)
    concurrency: int = Field(default=16, ge=1)
    # Messages per second per destination, by channel type; a type not listed is not limited.
    # Slack allows about 1 message/s per channel, PagerDuty about 120 events/min per key.
    rate_limits: dict[str, float] = Field(
        default_factory=lambda: {"slack": 1.0, "mattermost": 10.0, "pagerduty": 2.0, "email": 5.0}
    )
    burst: int = Field(default=3, ge=1)
    breaker_failures: int = Field(default=Breaker.failures_to_open, ge=1)
    breaker_cooldown: Duration = Breaker.cooldown

    @field_validator("retry_after_max")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration, e.g. 1h")
        return value

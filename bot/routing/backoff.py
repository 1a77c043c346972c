"""Delivery retry policy: how a send attempt's outcome is classified, and when to try again.

Classification: 2xx is delivered; 429, 5xx and no response at all (network error, timeout)
are worth retrying; any other status (4xx other than 429, 3xx, 1xx) is permanent, since
sending the same request again cannot succeed. Alertmanager drops Slack's 429s; we never do.

Backoff uses *full jitter* (AWS Architecture Blog, "Exponential Backoff And Jitter"): the delay
before attempt n+1 is uniform in [0, min(backoff_max, backoff_base·2^(n-1))]. Of the schemes
compared there it spreads the retries of many replicas best for the least total waiting. A
`Retry-After` is a floor: we never retry earlier than the destination asked, even past
`backoff_max`. The random source is injected so tests are repeatable."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    PERMANENT = "permanent"


def classify(status: int | None) -> Outcome:
    """The outcome of an HTTP status; None means no response (network error or timeout)."""
    if status is None or status == 429 or 500 <= status <= 599:
        return Outcome.RETRY
    if 200 <= status <= 299:
        return Outcome.SENT
    return Outcome.PERMANENT


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff base and cap, and the attempts before a delivery is dead. These defaults are the
    `delivery:` section's (`bot.config.delivery`)."""

    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(minutes=5)
    max_attempts: int = 5


def backoff_seconds(
    attempt: int, policy: RetryPolicy, rng: random.Random, retry_after: float | None = None
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 = the first attempt)."""
    ceiling = min(policy.cap.total_seconds(), policy.base.total_seconds() * 2.0 ** (attempt - 1))
    delay = rng.uniform(0.0, ceiling)
    return max(delay, retry_after) if retry_after is not None else delay


@dataclass(frozen=True)
class RetryDecision:
    """Retry at `retry_at` (UTC), or give up (`retry_at` None: dead-letter); `reason` says why."""

    retry_at: datetime | None
    reason: str

    @property
    def dead(self) -> bool:
        return self.retry_at is None


def after_failure(
    attempts: int,
    policy: RetryPolicy,
    rng: random.Random,
    now: datetime,
    *,
    status: int | None,
    retry_after: float | None = None,
    permanent: bool = False,
) -> RetryDecision:
    """What to do after `attempts` failed attempts (this one included) that ended with HTTP
    `status` (None: no response). `permanent` lets a notifier veto retries (a bad address)."""
    what = "no response" if status is None else f"HTTP {status}"
    if permanent or classify(status) is Outcome.PERMANENT:
        return RetryDecision(None, f"permanent failure ({what}); not retried")
    if attempts >= policy.max_attempts:
        return RetryDecision(None, f"gave up after {attempts} attempts (last: {what})")
    delay = backoff_seconds(attempts, policy, rng, retry_after)
    return RetryDecision(
        now + timedelta(seconds=delay), f"{what}; retry {attempts + 1} in {delay:.1f}s"
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header in seconds from `now`: delta-seconds or an HTTP date; None when
    absent or unreadable; never negative."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())

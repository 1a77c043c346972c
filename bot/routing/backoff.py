"""Delivery retry policy: how a send attempt's outcome is classified, and when to try again.

Classification: 2xx is delivered; 429, 5xx and no response at all (network error, timeout)
are worth retrying; any other status (4xx other than 429, 3xx, 1xx) is permanent, since
sending the same request again cannot succeed. Alertmanager drops Slack's 429s; we never do.

Backoff uses *full jitter* (AWS Architecture Blog, "Exponential Backoff And Jitter"): the delay
before attempt n+1 is uniform in [0, min(backoff_max, backoff_base·2^(n-1))]. Of the schemes
compared there it spreads the retries of many replicas best for the least total waiting. A
`Retry-After` is a floor: we never retry earlier than the destination asked, even past
`backoff_max`, up to `retry_after_max` (1 h by default): a destination that asks for a year
gets an hour, then is asked again. The random source is injected so tests are repeatable.

`parse_retry_after` is perfbot's one reader of a `Retry-After` header (RFC 9110 §10.2.3):
delta-seconds or an HTTP-date; whatever it returns is finite and non-negative. `honoured` holds
any delay a notifier reports to the same rule and applies the cap."""

import math
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

RETRY_AFTER_MAX = timedelta(hours=1)
_SECONDS = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?")  # digits, as some servers send a fraction


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
    retry_after_max: timedelta = RETRY_AFTER_MAX


def honoured(retry_after: float | None, policy: RetryPolicy) -> float | None:
    """The part of a destination's `retry_after` (seconds) that is honoured: None when there is
    none or it is not a finite, non-negative number; else at most `policy.retry_after_max`."""
    if retry_after is None or not math.isfinite(retry_after) or retry_after < 0:
        return None
    return min(retry_after, policy.retry_after_max.total_seconds())


def backoff_seconds(
    attempt: int, policy: RetryPolicy, rng: random.Random, retry_after: float | None = None
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 = the first attempt), at least
    the honoured part of `retry_after`."""
    ceiling = min(policy.cap.total_seconds(), policy.base.total_seconds() * 2.0 ** (attempt - 1))
    delay = rng.uniform(0.0, ceiling)
    floor = honoured(retry_after, policy)
    return max(delay, floor) if floor is not None else delay


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


def http_date(value: str | None) -> datetime | None:
    """An HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`, or the obsolete forms) as an aware UTC
    datetime; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP-dates are GMT; parsedate_to_datetime leaves "-0000" (and a missing zone) naive.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_retry_after(
    value: str | None, now: datetime | None, *, cap: timedelta | None = None
) -> float | None:
    """A `Retry-After` header in seconds from `now`: delta-seconds, or an HTTP-date (a date in
    the past is 0; without `now` a date cannot be read). None when absent or unreadable (signs,
    exponents, `inf`, `nan` and other garbage included); never negative, never infinite, and
    at most `cap` when given."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        when = http_date(text)
        if when is None or now is None:
            return None
        seconds = max(0.0, (when - now).total_seconds())
    return seconds if cap is None else min(seconds, cap.total_seconds())

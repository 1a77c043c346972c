"""The delivery failure policy: what one delivery attempt leads to, as values the outbox worker
applies. Data and `now` go in; nothing here sends, stores, counts or logs.

`admit` runs before a send. A channel that is not configured, or an alert that no longer
exists, is `Dead`; a destination whose rate limit is spent, or whose circuit is open, `Defer`s
the delivery without using up an attempt. `decide` judges the send's result:

* delivered: `Sent`, and the destination's circuit closes;
* 429: `Defer` for the `Retry-After` (at most `delivery.retry_after_max`; a backoff delay when
  there is none, or it is not a finite, non-negative number), and the destination's
  bucket is blocked that long: the destination is busy, not broken, so a 429 storm delays
  alerts but never drops one;
* no response, 5xx or our own crash: a failure for the circuit. If that opens it, `Defer` until
  it may close again (the destination is down: waiting uses up no attempt); otherwise `Retry`
  with jittered exponential backoff (`backoff.after_failure`);
* a permanent failure (any other status, or the notifier says so) or the last attempt: `Dead`;
* a message that cannot be rendered (`Unrenderable`: a renderer raised on the alert's data):
  `Dead` at once with the reason. It says nothing about the destination, which was never
  called: the circuit is not told, and the probe slot of a half-open circuit and the rate-limit
  token the delivery was admitted with are given back, so no other delivery waits for it.

A CRITICAL delivery that ends `Dead`, or is deferred by an open circuit, also asks for one copy
on `delivery.fallback` (`Fallback`): never for a copy itself, nor on the failing channel.

Each decision carries all the worker applies: the destination's new breaker and bucket (None:
unchanged), when to try again, the `last_error` text to store, the fallback to queue and the
`outcome` label it counts (metrics `perfbot_deliveries_total`)."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from bot import errors
from bot.models import Delivery, Severity
from bot.routing import backoff
from bot.routing.breaker import Breaker, BreakerState
from bot.routing.ratelimit import TokenBucket

# A destination type without a rate limit still honours a 429: it gets a bucket this generous,
# so only the block holds it back.
UNLIMITED = TokenBucket(rate=1000.0, burst=1000)
MIN_WAIT_S = 0.1  # the least a deferral waits for a circuit, so a worker never spins on it


@dataclass(frozen=True)
class Delivered:
    """The destination took the message."""


@dataclass(frozen=True)
class Failed:
    """A send that did not deliver: what went wrong, the HTTP `status` (None: no response at
    all), whether retrying cannot help, and the seconds a `Retry-After` asked for."""

    reason: str
    status: int | None = None
    permanent: bool = False
    retry_after: float | None = None

    @classmethod
    def of(cls, error: errors.NotifyError) -> "Failed":
        return cls(error.reason, error.status, error.permanent, error.retry_after)


@dataclass(frozen=True)
class Unrenderable:
    """The notifier could not render the message (`bot.errors.RenderError`); nothing was sent."""

    reason: str


DELIVERED = Delivered()
TIMED_OUT = Failed("timed out")
CRASHED = Failed("internal error in perfbot; see its log")


@dataclass(frozen=True)
class Fallback:
    """Queue one copy of the delivery on `channel` (unless one is queued already); `reason`
    is for the log."""

    channel: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class _Decision:
    """The destination's circuit breaker and rate-limit bucket from now on (None: unchanged)."""

    breaker: Breaker | None = None
    bucket: TokenBucket | None = None


@dataclass(frozen=True, kw_only=True)
class Admitted(_Decision):
    """Send it now."""


@dataclass(frozen=True, kw_only=True)
class Sent(_Decision):
    """Mark it sent."""

    outcome: ClassVar[str] = "sent"


@dataclass(frozen=True, kw_only=True)
class Retry(_Decision):
    """Back to pending until `at` (UTC), with `error` as its `last_error` and HTTP `status`;
    `cause` is the failure as the notifier reported it."""

    at: datetime
    error: str
    cause: str
    status: int | None
    outcome: ClassVar[str] = "retry"


@dataclass(frozen=True, kw_only=True)
class Defer(_Decision):
    """Back to pending until `at` (UTC) without using up an attempt; `error` is its new
    `last_error` (None: keep the one it has)."""

    at: datetime
    error: str | None
    outcome: Literal["rate_limited", "circuit_open"]
    fallback: Fallback | None = None


@dataclass(frozen=True, kw_only=True)
class Dead(_Decision):
    """Never to be tried again: a visible dead row with `error` and HTTP `status`."""

    error: str
    status: int | None = None
    fallback: Fallback | None = None
    outcome: ClassVar[str] = "dead"


def admit(
    delivery: Delivery,
    *,
    configured: bool,
    alert_exists: bool,
    breaker: Breaker,
    bucket: TokenBucket | None,
    fallback: str | None,
    now: datetime,
) -> Admitted | Defer | Dead:
    """Whether `delivery` may be sent at `now`. `configured`: its channel has a notifier;
    `breaker` and `bucket` are its destination's (`bucket` None: no rate limit); `fallback` is
    the `delivery.fallback` channel, if any."""
    if not configured:
        error = f"channel {delivery.channel!r} is not configured"
        return Dead(error=error, fallback=_fallback(delivery, fallback, error))
    if bucket is not None:
        bucket, wait = bucket.take(now)
        if wait > 0:
            return Defer(
                at=now + timedelta(seconds=wait), error=None, outcome="rate_limited", bucket=bucket
            )
    breaker, allowed = breaker.allow(now)
    if not allowed:
        return Defer(
            at=now + timedelta(seconds=max(breaker.retry_in(now), MIN_WAIT_S)),
            error="circuit open",
            outcome="circuit_open",
            fallback=_fallback(delivery, fallback, "circuit open"),
            breaker=breaker,
            bucket=bucket,
        )
    if not alert_exists:
        error = f"alert #{delivery.alert_id} no longer exists"
        return Dead(
            error=error,
            fallback=_fallback(delivery, fallback, error),
            breaker=breaker,
            bucket=bucket,
        )
    return Admitted(breaker=breaker, bucket=bucket)


def decide(
    result: Delivered | Failed | Unrenderable,
    delivery: Delivery,
    *,
    breaker: Breaker,
    bucket: TokenBucket | None,
    policy: backoff.RetryPolicy,
    fallback: str | None,
    rng: random.Random,
    now: datetime,
) -> Sent | Retry | Defer | Dead:
    """What comes of sending `delivery` (its `attempts` include this one) with `result` at
    `now`; `breaker` and `bucket` as they stand now, `rng` for the backoff's jitter."""
    if isinstance(result, Delivered):
        return Sent(breaker=breaker.success())
    if isinstance(result, Unrenderable):
        error = f"cannot render the message: {result.reason} (not retried)"
        return Dead(
            error=error,
            fallback=_fallback(delivery, fallback, error),
            breaker=breaker.released(),
            bucket=None if bucket is None else bucket.refund(),
        )
    if result.status == 429:
        asked = backoff.honoured(result.retry_after, policy)  # finite, capped, or None
        wait = asked or backoff.backoff_seconds(delivery.attempts, policy, rng)
        return Defer(
            at=now + timedelta(seconds=wait),
            error=f"{result.reason} (rate limited)",
            outcome="rate_limited",
            bucket=(bucket or UNLIMITED).block(now, wait),
        )
    failed: Breaker | None = None  # a permanent failure says nothing about the destination
    if not result.permanent and backoff.classify(result.status) is backoff.Outcome.RETRY:
        failed = breaker.failure(now)
        if failed.state is not BreakerState.CLOSED:
            return Defer(
                at=now + timedelta(seconds=max(failed.retry_in(now), MIN_WAIT_S)),
                error=f"{result.reason} (circuit open)",
                outcome="circuit_open",
                fallback=_fallback(delivery, fallback, result.reason),
                breaker=failed,
            )
    verdict = backoff.after_failure(
        delivery.attempts,
        policy,
        rng,
        now,
        status=result.status,
        retry_after=result.retry_after,
        permanent=result.permanent,
    )
    error = f"{result.reason} ({verdict.reason})"
    if verdict.retry_at is None:
        return Dead(
            error=error,
            status=result.status,
            fallback=_fallback(delivery, fallback, error),
            breaker=failed,
        )
    return Retry(
        at=verdict.retry_at, error=error, cause=result.reason, status=result.status, breaker=failed
    )


def _fallback(delivery: Delivery, channel: str | None, reason: str) -> Fallback | None:
    """A copy on the fallback `channel` for a CRITICAL that is not a copy itself and was not
    meant for that channel; None otherwise."""
    if (
        channel is None
        or delivery.severity is not Severity.CRITICAL
        or delivery.is_fallback
        or delivery.channel == channel
    ):
        return None
    return Fallback(channel, reason)

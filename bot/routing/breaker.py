"""A circuit breaker per destination, with time passed in.

Closed: calls pass; `failures_to_open` consecutive failures open it. Open: calls are refused
for `cooldown`, then one probe is let through (half-open). The probe's success closes it, its
failure opens it for another cooldown; if the probe never reports (a crashed worker), another
probe is allowed after a further cooldown; a probe that was never sent (its message could not
be rendered) is `released`, so the next call may probe at once. Count as failures only outcomes that say the
destination is unwell (no response, 5xx), not 429 (that is the rate limiter's business) nor
permanent 4xx (our request was bad). `status(now)` is what /healthz shows."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Breaker:
    # these two defaults are the `delivery:` section's (`breaker_failures`, `breaker_cooldown`)
    failures_to_open: int = 5
    cooldown: timedelta = timedelta(seconds=60)
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: datetime | None = None
    probe_at: datetime | None = None

    def allow(self, now: datetime) -> tuple["Breaker", bool]:
        """(new breaker, whether a call may go out now)."""
        if self.state is BreakerState.CLOSED:
            return self, True
        if self.state is BreakerState.OPEN:
            assert self.opened_at is not None
            if now < self.opened_at + self.cooldown:
                return self, False
            return replace(self, state=BreakerState.HALF_OPEN, probe_at=now), True
        if self.probe_at is not None and now < self.probe_at + self.cooldown:
            return self, False  # a probe is in flight
        return replace(self, probe_at=now), True

    def released(self) -> "Breaker":
        """The breaker after an allowed call that was never made: a half-open circuit's probe
        slot is free again; otherwise unchanged."""
        if self.state is BreakerState.HALF_OPEN:
            return replace(self, probe_at=None)
        return self

    def success(self) -> "Breaker":
        return replace(self, state=BreakerState.CLOSED, failures=0, opened_at=None, probe_at=None)

    def failure(self, now: datetime) -> "Breaker":
        failures = self.failures + 1
        if self.state is BreakerState.HALF_OPEN or failures >= self.failures_to_open:
            return replace(
                self, state=BreakerState.OPEN, failures=failures, opened_at=now, probe_at=None
            )
        return replace(self, failures=failures)

    def retry_in(self, now: datetime) -> float:
        """Seconds until a call may go out (0.0: now)."""
        if self.state is BreakerState.CLOSED:
            return 0.0
        start = self.opened_at if self.state is BreakerState.OPEN else self.probe_at
        if start is None:
            return 0.0  # half-open with no probe in flight
        return max(0.0, (start + self.cooldown - now).total_seconds())

    def status(self, now: datetime) -> dict[str, Any]:
        """JSON-able state for /healthz."""
        return {
            "state": self.state.value,
            "failures": self.failures,
            "retry_in_s": round(self.retry_in(now), 3),
        }

"""A background loop's run of consecutive failures: what lets the delivery loop, its LISTEN
listener and the scheduler's ticks survive any exception without flooding the log, back off,
and show in `/healthz` when they keep failing.

`failed(exc)` counts a failure, logs it and returns how long to back off; `succeeded()` ends the
streak (logging the recovery). The first failure of a streak, and the first of a new kind, is
logged with its traceback; repeats of the same kind at most once per `every` seconds, with the
count since the last line. A database that cannot be reached (`DatabaseUnavailable`) or a query
that ran out of time (`QueryTimeout`) is expected in operation and logged without a traceback,
as what it is. One failure is a blip; `threshold` failures in a row make `health()` fail."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot import errors

logger = logging.getLogger(__name__)

FAILING_AFTER = 3  # failures in a row that make a loop's health check fail
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0
LOG_EVERY_S = 60.0


def describe(exc: BaseException) -> str:
    """`QueryTimeout: …`, for logs and `/healthz` (never more than 300 characters)."""
    text = exc.message if isinstance(exc, errors.BotError) else str(exc)
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


@dataclass
class FailureStreak:
    """Consecutive failures of the loop `name`; logged with `action` (e.g. `delivery_loop_failed`)
    on `log`. `clock` is monotonic seconds."""

    name: str
    action: str
    log: logging.Logger = logger
    threshold: int = FAILING_AFTER
    base: float = BACKOFF_BASE_S
    cap: float = BACKOFF_MAX_S
    every: float = LOG_EVERY_S
    clock: Callable[[], float] = time.monotonic
    failures: int = 0  # in the current streak
    total: int = 0  # since start
    last_error: str | None = None
    _kind: type[BaseException] | None = field(default=None, repr=False)
    _since: float | None = field(default=None, repr=False)
    _logged_at: float | None = field(default=None, repr=False)
    _unlogged: int = field(default=0, repr=False)
    _retry_at: float = field(default=0.0, repr=False)

    def failed(self, exc: BaseException, *, logged: bool = False) -> float:
        """Count `exc`, log it as due (never when the caller `logged` it already), and return
        the seconds to back off before trying again: `base`, doubling with each failure in a
        row, at most `cap`."""
        now = self.clock()
        self.failures += 1
        self.total += 1
        self.last_error = describe(exc)
        if self._since is None:
            self._since = now
        new_kind = type(exc) is not self._kind
        self._kind = type(exc)
        self._unlogged += 1
        if logged:
            self._unlogged = 0
        elif new_kind or self._logged_at is None or now - self._logged_at >= self.every:
            self._log(exc, traceback=new_kind)
            self._logged_at = now
            self._unlogged = 0
        delay = min(self.cap, self.base * 2.0 ** (self.failures - 1))
        self._retry_at = now + delay
        return delay

    def _log(self, exc: BaseException, *, traceback: bool) -> None:
        facts: dict[str, Any] = {
            "action": self.action,
            "loop": self.name,
            "failures": self.failures,
            "since_last_line": self._unlogged,
            "error": self.last_error,
        }
        if isinstance(exc, errors.QueryTimeout):
            self.log.warning("%s: a query was too slow; backing off", self.name, extra=facts)
        elif isinstance(exc, errors.DatabaseUnavailable):
            self.log.warning("%s: database unavailable; backing off", self.name, extra=facts)
        else:
            self.log.error(
                "%s failed; backing off",
                self.name,
                exc_info=exc if traceback else None,
                extra=facts,
            )

    def succeeded(self) -> None:
        """End the streak, if there is one (logging the recovery)."""
        if self.failures:
            self.log.info(
                "%s recovered",
                self.name,
                extra={
                    "action": self.action.removesuffix("_failed") + "_recovered",
                    "loop": self.name,
                    "failures": self.failures,
                },
            )
        self.failures = 0
        self.last_error = None
        self._kind = None
        self._since = None
        self._logged_at = None
        self._unlogged = 0
        self._retry_at = 0.0

    def due(self) -> bool:
        """Whether the back-off after the last failure is over."""
        return self.clock() >= self._retry_at

    @property
    def failing(self) -> bool:
        return self.failures >= self.threshold

    def health(self) -> dict[str, Any]:
        """For `/healthz`: ok until `threshold` failures in a row, with the streak's details."""
        report: dict[str, Any] = {"ok": not self.failing, "failures": self.failures}
        if self.failures:
            assert self._since is not None
            report["failing_for_s"] = round(self.clock() - self._since, 1)
            report["last_error"] = self.last_error
        report["total_failures"] = self.total
        return report

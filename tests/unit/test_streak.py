"""FailureStreak: back-off, what is logged (a traceback once per streak and kind, then
throttled), and when /healthz fails."""

import logging
from dataclasses import dataclass

import pytest

from bot import errors
from bot.streak import FailureStreak


@dataclass
class Stepped:
    """A monotonic clock the test moves."""

    now: float = 100.0

    def __call__(self) -> float:
        return self.now


def streak(clock: Stepped, **kwargs: float) -> FailureStreak:
    return FailureStreak("loop", "loop_failed", clock=clock, **kwargs)  # type: ignore[arg-type]


def boom() -> RuntimeError:
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize(
    ("failures", "delays"),
    [
        (1, [0.5]),
        (3, [0.5, 1.0, 2.0]),
        (9, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]),
    ],
)
def test_backoff_doubles_up_to_the_cap(failures: int, delays: list[float]) -> None:
    clock = Stepped()
    s = streak(clock)
    got = []
    for _ in range(failures):
        got.append(s.failed(boom()))
        assert not s.due()
        clock.now += got[-1]
        assert s.due()
    assert got == delays


@pytest.mark.parametrize(
    ("failures", "ok"),
    [(0, True), (1, True), (2, True), (3, False), (10, False)],
)
def test_health_fails_only_on_a_streak(failures: int, ok: bool) -> None:
    clock = Stepped()
    s = streak(clock)
    for _ in range(failures):
        s.failed(errors.DatabaseUnavailable("database unavailable: ConnectionRefusedError"))
        clock.now += 2.0
    health = s.health()
    assert health["ok"] is ok
    assert health["failures"] == failures
    if failures:
        assert health["last_error"] == (
            "DatabaseUnavailable: database unavailable: ConnectionRefusedError"
        )
        assert health["failing_for_s"] == 2.0 * failures


def test_success_ends_the_streak() -> None:
    clock = Stepped()
    s = streak(clock)
    for _ in range(5):
        s.failed(boom())
    s.succeeded()
    assert s.health() == {"ok": True, "failures": 0, "total_failures": 5}
    assert s.due()
    assert s.failed(boom()) == 0.5  # a new streak backs off from the start


def test_a_traceback_once_then_throttled(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.streak")
    clock = Stepped()
    s = streak(clock, every=60.0)
    for _ in range(5):  # within a minute: one line, with the traceback
        s.failed(boom())
        clock.now += 1.0
    clock.now += 60.0
    s.failed(boom())  # a minute later: one line with the count, no traceback
    s.failed(errors.QueryTimeout("query too slow: TimeoutError"))  # a new kind: at once
    s.failed(errors.DatabaseUnavailable("database unavailable: OSError"))
    s.succeeded()
    lines = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert lines == [
        ("ERROR", "loop failed; backing off", True),
        ("ERROR", "loop failed; backing off", False),
        ("WARNING", "loop: a query was too slow; backing off", False),
        ("WARNING", "loop: database unavailable; backing off", False),
        ("INFO", "loop recovered", False),
    ]
    assert [getattr(r, "action", None) for r in caplog.records] == [
        "loop_failed",
        "loop_failed",
        "loop_failed",
        "loop_failed",
        "loop_recovered",
    ]
    assert getattr(caplog.records[1], "since_last_line", None) == 5
    assert getattr(caplog.records[1], "failures", None) == 6


def test_failures_logged_elsewhere_are_only_counted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.streak")
    s = streak(Stepped())
    for _ in range(3):
        s.failed(errors.BotError("timed out after 300 s"), logged=True)
    assert not s.health()["ok"]
    assert caplog.records == []

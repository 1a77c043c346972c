"""Clocks. Every component takes `now` from an injected `Clock`, never from the wall, so that
tests can freeze time and the demo can run on an accelerated clock."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ScaledClock:
    """Time that runs `speed` times faster than the wall clock, starting at `start`.

    Used by the demo to replay hours of incidents in a minute."""

    def __init__(self, start: datetime, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start
        self._speed = speed
        self._t0 = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self._speed)


class FrozenClock:
    """A clock that only moves when told to: for tests, and the unattended demo's stepped
    simulated time."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class FileClock:
    """The time written in a file (one ISO 8601 UTC timestamp), read at every call: a stepped
    clock that several processes share and that a test moves by replacing the file
    (`perfbot run --clock-file`, a hidden option for acceptance tests; write it atomically,
    `FileClock.write`)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.now()  # fail at start-up, not in the first job, when the file is missing or bad

    def now(self) -> datetime:
        text = self._path.read_text(encoding="utf-8").strip()
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            raise ValueError(f"{self._path}: {text!r} has no UTC offset")
        return value.astimezone(UTC)

    @staticmethod
    def write(path: Path, now: datetime) -> None:
        """Set the clock in `path` to `now` (atomically: readers see the old or the new time)."""
        part = path.with_name(f".{path.name}.part")
        part.write_text(now.isoformat(), encoding="utf-8")
        part.replace(path)

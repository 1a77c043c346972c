"""The file clock `perfbot run --clock-file` reads: the time in the file at each call, moved by
replacing the file; a missing file or a time without an offset fails at start-up."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.clock import FileClock

NOON = datetime(2026, 11, 27, 12, 0, 20, tzinfo=UTC)


def test_the_file_clock_reads_the_time_the_file_holds_at_each_call(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    FileClock.write(path, NOON)
    clock = FileClock(path)
    assert clock.now() == NOON
    FileClock.write(path, NOON + timedelta(minutes=1))
    assert clock.now() == NOON + timedelta(minutes=1)
    FileClock.write(path, NOON.astimezone(timezone(timedelta(hours=2))))
    assert clock.now() == NOON
    assert clock.now().tzinfo is UTC
    assert [p.name for p in tmp_path.iterdir()] == ["clock"]  # the temporary file was renamed


def test_a_missing_file_or_a_naive_time_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FileClock(tmp_path / "absent")
    naive = tmp_path / "naive"
    naive.write_text("2026-11-27T12:00:20")
    with pytest.raises(ValueError, match="no UTC offset"):
        FileClock(naive)

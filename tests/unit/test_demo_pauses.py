"""Where the interactive demo pauses: a few minutes after each incident begins, and at the end."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.demo.interactive import SHOW, pauses

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
END = T0 + timedelta(hours=1)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("incidents", "expected"),
    [
        ([], [END]),
        ([at(0), at(4), at(12)], [at(0) + SHOW, at(4) + SHOW, at(12) + SHOW, END]),
        ([at(12), at(0)], [at(0) + SHOW, at(12) + SHOW, END]),  # any order
        ([at(58)], [END]),  # too late to show before the end: the end is the pause
        ([at(2), at(2)], [at(2) + SHOW, END]),
    ],
)
def test_pauses(incidents: list[datetime], expected: list[datetime]) -> None:
    assert pauses(T0, END, incidents) == expected

"""The on-call core: rotations across DST changes, exact hand-off instants, restricted layers,
overrides (later wins, partial overlaps) and empty schedules, as tables of (time → person)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.routing.oncall import (
    Handoff,
    Layer,
    OnCall,
    Override,
    Restriction,
    Schedule,
    handoffs,
    layer_on_call,
    on_call,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def schedule(zone: ZoneInfo, *layers: Layer) -> Schedule:
    return Schedule("primary", zone, layers)


def rotation(
    start: date,
    people: tuple[str, ...] = ("alice", "bob"),
    *,
    handoff: time = time(9),
    days: int | None = 7,
    length: timedelta | None = None,
    restriction: Restriction | None = None,
    name: str = "main",
) -> Layer:
    return Layer(name, people, start, handoff, days, length, restriction)


def who(s: Schedule, at: datetime, overrides: tuple[Override, ...] = ()) -> str | None:
    found = on_call(s, overrides, at)
    return found.person if found is not None else None


# Paris springs forward on 2026-03-29 (02:00 CET → 03:00 CEST) and falls back on 2026-10-25
# (03:00 CEST → 02:00 CET); New York on 2026-03-08 (02:00 EST → 03:00 EDT) and 2026-11-01
# (02:00 EDT → 01:00 EST).
PARIS_WEEKLY_SPRING = schedule(PARIS, rotation(date(2026, 3, 23)))  # Monday 09:00 CET
NY_DAILY_SPRING = schedule(NEW_YORK, rotation(date(2026, 3, 6), ("a", "b", "c"), days=1))
NY_DAILY_FALL = schedule(NEW_YORK, rotation(date(2026, 10, 30), ("a", "b", "c"), days=1))
PARIS_WEEKLY_FALL = schedule(PARIS, rotation(date(2026, 10, 19)))  # Monday 09:00 CEST
PARIS_GAP = schedule(PARIS, rotation(date(2026, 3, 28), ("a", "b"), handoff=time(2, 30), days=1))
PARIS_REPEATED = schedule(
    PARIS, rotation(date(2026, 10, 24), ("a", "b"), handoff=time(2, 30), days=1)
)
NY_TWELVE_HOURS = schedule(
    NEW_YORK,
    rotation(date(2026, 3, 7), ("a", "b"), handoff=time(21), days=None, length=timedelta(hours=12)),
)
PARIS_TWO_DAYS = schedule(PARIS, rotation(date(2026, 3, 27), ("a", "b"), days=2))


@pytest.mark.parametrize(
    ("sched", "at", "expected"),
    [
        # weekly Paris: 09:00 CET = 08:00 UTC, the next Monday 09:00 CEST = 07:00 UTC
        (PARIS_WEEKLY_SPRING, utc(2026, 3, 23, 7, 59, 59), None),
        (PARIS_WEEKLY_SPRING, utc(2026, 3, 23, 8), "alice"),
        (PARIS_WEEKLY_SPRING, utc(2026, 3, 30, 6, 59, 59), "alice"),
        (PARIS_WEEKLY_SPRING, utc(2026, 3, 30, 7), "bob"),
        (PARIS_WEEKLY_SPRING, utc(2026, 4, 6, 6, 59, 59), "bob"),
        (PARIS_WEEKLY_SPRING, utc(2026, 4, 6, 7), "alice"),
        # daily New York over spring forward: 09:00 EST = 14:00 UTC, 09:00 EDT = 13:00 UTC
        (NY_DAILY_SPRING, utc(2026, 3, 6, 14), "a"),
        (NY_DAILY_SPRING, utc(2026, 3, 7, 13, 59), "a"),
        (NY_DAILY_SPRING, utc(2026, 3, 7, 14), "b"),
        (NY_DAILY_SPRING, utc(2026, 3, 8, 12, 59, 59), "b"),
        (NY_DAILY_SPRING, utc(2026, 3, 8, 13), "c"),
        (NY_DAILY_SPRING, utc(2026, 3, 9, 13), "a"),
        # daily New York over fall back: 09:00 EDT = 13:00 UTC, then 09:00 EST = 14:00 UTC
        (NY_DAILY_FALL, utc(2026, 10, 31, 13), "b"),
        (NY_DAILY_FALL, utc(2026, 11, 1, 13, 30), "b"),
        (NY_DAILY_FALL, utc(2026, 11, 1, 13, 59, 59), "b"),
        (NY_DAILY_FALL, utc(2026, 11, 1, 14), "c"),
        # weekly Paris over fall back: 09:00 CEST = 07:00 UTC, then 09:00 CET = 08:00 UTC
        (PARIS_WEEKLY_FALL, utc(2026, 10, 26, 7, 30), "alice"),
        (PARIS_WEEKLY_FALL, utc(2026, 10, 26, 8), "bob"),
        # a hand-off time skipped by spring forward (02:30 on 2026-03-29) happens at 03:30 CEST
        (PARIS_GAP, utc(2026, 3, 28, 1, 30), "a"),
        (PARIS_GAP, utc(2026, 3, 29, 1, 29, 59), "a"),
        (PARIS_GAP, utc(2026, 3, 29, 1, 30), "b"),
        (PARIS_GAP, utc(2026, 3, 30, 0, 30), "a"),
        # a repeated one (02:30 twice on 2026-10-25) happens at its first occurrence
        (PARIS_REPEATED, utc(2026, 10, 25, 0, 29, 59), "a"),
        (PARIS_REPEATED, utc(2026, 10, 25, 0, 30), "b"),
        (PARIS_REPEATED, utc(2026, 10, 26, 1, 30), "a"),
        # 12-hour shifts are absolute: 21:00 EST (02:00 UTC), then every 12 h of real time
        (NY_TWELVE_HOURS, utc(2026, 3, 8, 2), "a"),
        (NY_TWELVE_HOURS, utc(2026, 3, 8, 13, 59), "a"),
        (NY_TWELVE_HOURS, utc(2026, 3, 8, 14), "b"),
        (NY_TWELVE_HOURS, utc(2026, 3, 9, 2), "a"),
        # a 2-day custom length is whole days: 09:00 local each time
        (PARIS_TWO_DAYS, utc(2026, 3, 29, 6, 59), "a"),
        (PARIS_TWO_DAYS, utc(2026, 3, 29, 7), "b"),
        (PARIS_TWO_DAYS, utc(2026, 3, 31, 7), "a"),
    ],
)
def test_rotation_hands_off_at_local_time(
    sched: Schedule, at: datetime, expected: str | None
) -> None:
    assert who(sched, at) == expected


def test_shift_bounds_follow_local_time() -> None:
    found = on_call(NY_DAILY_SPRING, (), utc(2026, 3, 7, 20))
    assert found == OnCall("b", utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), "layer", layer="main")
    assert found.end - found.start == timedelta(hours=23)


BUSINESS = Restriction(WEEKDAYS, 9 * 60, 18 * 60)
NIGHTS = Restriction(frozenset(range(7)), 22 * 60, 6 * 60)
# 24x7 weekly (Monday 09:00 Paris) with business hours covered by carol on top
LAYERED = schedule(
    PARIS,
    rotation(date(2026, 6, 1), name="24x7"),
    rotation(date(2026, 6, 1), ("carol",), days=1, restriction=BUSINESS, name="office"),
)
NIGHT_WATCH = schedule(
    NEW_YORK,
    rotation(date(2026, 6, 1), ("day",), days=1, name="days"),
    rotation(date(2026, 6, 1), ("owl",), days=1, restriction=NIGHTS, name="nights"),
)


@pytest.mark.parametrize(
    ("sched", "at", "expected"),
    [
        # Paris is UTC+2 in June; 2026-06-03 is a Wednesday, 2026-06-06 a Saturday
        (LAYERED, utc(2026, 6, 3, 8), "carol"),
        (LAYERED, utc(2026, 6, 3, 6, 59), "alice"),
        (LAYERED, utc(2026, 6, 3, 7), "carol"),
        (LAYERED, utc(2026, 6, 3, 15, 59, 59), "carol"),
        (LAYERED, utc(2026, 6, 3, 16), "alice"),
        (LAYERED, utc(2026, 6, 6, 8), "alice"),
        (LAYERED, utc(2026, 6, 8, 6, 59), "alice"),
        (LAYERED, utc(2026, 6, 8, 7), "carol"),
        (LAYERED, utc(2026, 6, 8, 16), "bob"),
        # an overnight window: 22:00 to 06:00 New York (EDT, UTC-4)
        (NIGHT_WATCH, utc(2026, 6, 3, 1, 59), "day"),
        (NIGHT_WATCH, utc(2026, 6, 3, 2), "owl"),
        (NIGHT_WATCH, utc(2026, 6, 3, 9, 59), "owl"),
        (NIGHT_WATCH, utc(2026, 6, 3, 10), "day"),
    ],
)
def test_later_layers_win_inside_their_restriction(
    sched: Schedule, at: datetime, expected: str
) -> None:
    assert who(sched, at) == expected


def test_restricted_shift_is_clipped_to_its_window() -> None:
    found = on_call(LAYERED, (), utc(2026, 6, 3, 12))
    assert found is not None
    assert (found.person, found.start, found.end) == (
        "carol",
        utc(2026, 6, 3, 7),
        utc(2026, 6, 3, 16),
    )
    assert layer_on_call(LAYERED.layers[1], PARIS, utc(2026, 6, 6, 12)) is None


DAVE = Override("dave", utc(2026, 6, 3, 10), utc(2026, 6, 3, 14), id=1)
ERIN = Override("erin", utc(2026, 6, 3, 12), utc(2026, 6, 3, 20), id=2)


@pytest.mark.parametrize(
    ("overrides", "at", "expected"),
    [
        ((DAVE,), utc(2026, 6, 3, 9, 59, 59), "carol"),
        ((DAVE,), utc(2026, 6, 3, 10), "dave"),
        ((DAVE,), utc(2026, 6, 3, 13, 59, 59), "dave"),
        ((DAVE,), utc(2026, 6, 3, 14), "carol"),
        # overlapping: the later created wins while both are active
        ((DAVE, ERIN), utc(2026, 6, 3, 11), "dave"),
        ((DAVE, ERIN), utc(2026, 6, 3, 12), "erin"),
        ((DAVE, ERIN), utc(2026, 6, 3, 15), "erin"),
        ((ERIN, DAVE), utc(2026, 6, 3, 13), "dave"),
        ((ERIN, DAVE), utc(2026, 6, 3, 14), "erin"),
        ((DAVE, ERIN), utc(2026, 6, 3, 20), "alice"),
    ],
)
def test_overrides_win_and_later_created_wins(
    overrides: tuple[Override, ...], at: datetime, expected: str
) -> None:
    assert who(LAYERED, at, overrides) == expected


def test_override_answer_names_it() -> None:
    found = on_call(LAYERED, (DAVE,), utc(2026, 6, 3, 11))
    assert found == OnCall("dave", DAVE.start, DAVE.end, "override", override=DAVE)


def test_handoffs_list_every_change_soonest_first() -> None:
    changes = handoffs(LAYERED, (DAVE, ERIN), utc(2026, 6, 3, 8), limit=6)
    assert [(h.at, h.before and h.before.person, h.after and h.after.person) for h in changes] == [
        (utc(2026, 6, 3, 10), "carol", "dave"),
        (utc(2026, 6, 3, 12), "dave", "erin"),
        (utc(2026, 6, 3, 20), "erin", "alice"),
        (utc(2026, 6, 4, 7), "alice", "carol"),
        (utc(2026, 6, 4, 16), "carol", "alice"),
        (utc(2026, 6, 5, 7), "alice", "carol"),
    ]


def test_handoff_at_the_exact_instant_is_the_next_one() -> None:
    [first] = handoffs(PARIS_WEEKLY_SPRING, (), utc(2026, 3, 30, 7), limit=1)
    assert first.at == utc(2026, 4, 6, 7)
    assert (first.before and first.before.person, first.after and first.after.person) == (
        "bob",
        "alice",
    )


def test_handoffs_across_dst_keep_local_time() -> None:
    changes = handoffs(NY_DAILY_SPRING, (), utc(2026, 3, 6, 15), limit=3)
    assert [h.at for h in changes] == [
        utc(2026, 3, 7, 14),
        utc(2026, 3, 8, 13),
        utc(2026, 3, 9, 13),
    ]


def test_single_participant_shift_boundaries_are_not_handoffs() -> None:
    solo = schedule(PARIS, rotation(date(2026, 6, 1), ("alice",), days=1))
    assert handoffs(solo, (), utc(2026, 6, 3), horizon=timedelta(days=10)) == []


def test_rotation_start_is_a_handoff_from_nobody() -> None:
    [first] = handoffs(PARIS_WEEKLY_SPRING, (), utc(2026, 3, 20), limit=1)
    assert first.before is None
    assert first.after is not None
    assert (first.at, first.after.person) == (utc(2026, 3, 23, 8), "alice")


def test_handoffs_stop_at_the_horizon() -> None:
    assert (
        handoffs(PARIS_WEEKLY_SPRING, (), utc(2026, 3, 24), horizon=timedelta(days=6, hours=6))
        == []
    )
    assert (
        len(handoffs(PARIS_WEEKLY_SPRING, (), utc(2026, 3, 24), horizon=timedelta(days=6, hours=7)))
        == 1
    )


def test_override_on_an_empty_schedule() -> None:
    empty = schedule(PARIS)
    assert on_call(empty, (), utc(2026, 6, 3)) is None
    assert handoffs(empty, (), utc(2026, 6, 3)) == []
    assert handoffs(empty, (DAVE,), utc(2026, 6, 3)) == [
        Handoff(DAVE.start, None, on_call(empty, (DAVE,), DAVE.start)),
        Handoff(DAVE.end, on_call(empty, (DAVE,), DAVE.start), None),
    ]


def test_layer_without_participants_has_nobody() -> None:
    assert who(schedule(PARIS, rotation(date(2026, 6, 1), ())), utc(2026, 6, 3)) is None

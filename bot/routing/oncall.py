"""Who is on call: a pure function of a schedule, its overrides and an instant.

A `Schedule` has a time zone and ordered `Layer`s; each layer is a rotation over ordered
participants (people ids). Whole-day rotations (daily, weekly, a custom length of whole days)
hand off at the local hand-off time, so 09:00 stays 09:00 local across DST changes (a shift
that spans a change is 23 or 25 hours long); a custom length that is not whole days is an
absolute duration. A layer may be restricted to some weekdays and local hours; outside them it
has nobody on. Later layers win whenever they have someone on (business hours over 24x7).
An `Override` puts a person on call for [start, end); overrides win over every layer, and of
several active overrides the later one in the sequence (the later created) wins.

Every instant here is timezone-aware and every answer is in UTC. The `ZoneInfo` objects are
built by the configuration; nothing here reads a file, the clock or the database."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DAY = timedelta(days=1)
MINUTES_PER_DAY = 24 * 60
DEFAULT_HORIZON = timedelta(days=60)
_MAX_STEPS = 20_000


@dataclass(frozen=True)
class Restriction:
    """When a layer is on: local `days` (0 Monday … 6 Sunday) and, on each of them, the local
    minutes [start, end) of the day; `end` ≤ `start` crosses midnight into the next day
    (`22:00-06:00`), `end` = 1440 is midnight at the end of the day."""

    days: frozenset[int] = frozenset(range(7))
    start: int = 0
    end: int = MINUTES_PER_DAY

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class Layer:
    """A rotation: `participants` take turns from `start` (a local date; the first shift begins
    there at `handoff`). `days` is the length of a shift in whole local days, or None when
    `length` is an absolute duration."""

    name: str
    participants: tuple[str, ...]
    start: date
    handoff: time = time(9, 0)
    days: int | None = 7
    length: timedelta | None = None
    restriction: Restriction | None = None


@dataclass(frozen=True)
class Schedule:
    name: str
    zone: tzinfo
    layers: tuple[Layer, ...] = ()


@dataclass(frozen=True)
class Override:
    """`person` is on call from `start` to `end` (aware). `id` is the database row (None for
    one written in the YAML file); `created_by` who made it."""

    person: str
    start: datetime
    end: datetime
    id: int | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class OnCall:
    """`person` is on call from `start` to `end` (UTC) by `source`: `layer` (with `layer`, its
    name) or `override` (with `override`, the override). `start`/`end` bound the shift or
    override it comes from; an override or a later layer may interrupt it (`handoffs` lists the
    actual changes)."""

    person: str
    start: datetime
    end: datetime
    source: str
    layer: str | None = None
    override: Override | None = None

    def same_hands(self, other: "OnCall | None") -> bool:
        """Whether `other` is the same person from the same layer or override."""
        return (
            other is not None
            and other.person == self.person
            and other.source == self.source
            and other.layer == self.layer
            and other.override == self.override
        )


@dataclass(frozen=True)
class Handoff:
    """At `at` (UTC) on-call passes from `before` to `after` (None: nobody)."""

    at: datetime
    before: OnCall | None
    after: OnCall | None


def _local(day: date, at: time, zone: tzinfo) -> datetime:
    """The instant (UTC) of local wall time `at` on `day`. A time skipped by a spring-forward
    change is read with the offset before it (02:30 becomes 03:30 summer time); a repeated
    one is its first occurrence."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _minutes_local(day: date, minute: int, zone: tzinfo) -> datetime:
    extra, minute = divmod(minute, MINUTES_PER_DAY)
    return _local(day + timedelta(days=extra), time(minute // 60, minute % 60), zone)


def _shift(layer: Layer, zone: tzinfo, at: datetime) -> tuple[int, datetime, datetime] | None:
    """The index of the rotation's shift containing `at`, with its start and end (UTC); None
    before the rotation starts."""
    first = _local(layer.start, layer.handoff, zone)
    if at < first:
        return None
    if layer.days is None:
        assert layer.length is not None
        index = (at - first) // layer.length
        begin = first + index * layer.length
        return index, begin, begin + layer.length
    day = at.astimezone(zone).date()
    if _local(day, layer.handoff, zone) > at:
        day -= DAY
    index = (day - layer.start).days // layer.days
    begin_day = layer.start + timedelta(days=index * layer.days)
    return (
        index,
        _local(begin_day, layer.handoff, zone),
        _local(begin_day + timedelta(days=layer.days), layer.handoff, zone),
    )


def _window(rule: Restriction, zone: tzinfo, at: datetime) -> tuple[datetime, datetime] | None:
    """The restriction window (UTC) that contains `at`, or None when `at` is outside them."""
    today = at.astimezone(zone).date()
    for day in (today - DAY, today):
        if day.weekday() not in rule.days:
            continue
        end = rule.end + (MINUTES_PER_DAY if rule.overnight else 0)
        begin, finish = _minutes_local(day, rule.start, zone), _minutes_local(day, end, zone)
        if begin <= at < finish:
            return begin, finish
    return None


def _window_edges(rule: Restriction, zone: tzinfo, after: datetime) -> datetime:
    """The first instant after `after` (UTC) at which a window of `rule` opens or closes."""
    today = after.astimezone(zone).date()
    end = rule.end + (MINUTES_PER_DAY if rule.overnight else 0)
    edges = [
        edge
        for offset in range(-1, 9)
        for day in (today + timedelta(days=offset),)
        if day.weekday() in rule.days
        for edge in (_minutes_local(day, rule.start, zone), _minutes_local(day, end, zone))
        if edge > after
    ]
    return min(edges)


def layer_on_call(layer: Layer, zone: tzinfo, at: datetime) -> OnCall | None:
    """Who `layer` has on at `at` (aware), or None (not started, outside its restriction, no
    participants). The shift is clipped to the restriction window."""
    at = at.astimezone(UTC)
    if not layer.participants:
        return None
    shift = _shift(layer, zone, at)
    if shift is None:
        return None
    index, begin, finish = shift
    if layer.restriction is not None:
        window = _window(layer.restriction, zone, at)
        if window is None:
            return None
        begin, finish = max(begin, window[0]), min(finish, window[1])
    person = layer.participants[index % len(layer.participants)]
    return OnCall(person, begin, finish, "layer", layer=layer.name)


def on_call(schedule: Schedule, overrides: Sequence[Override], at: datetime) -> OnCall | None:
    """Who is on call on `schedule` at `at` (aware): the last of `overrides` active then (start
    ≤ at < end), else the last layer that has someone on, else None."""
    at = at.astimezone(UTC)
    for override in reversed(overrides):
        if override.start <= at < override.end:
            return OnCall(
                override.person,
                override.start.astimezone(UTC),
                override.end.astimezone(UTC),
                "override",
                override=override,
            )
    for layer in reversed(schedule.layers):
        found = layer_on_call(layer, schedule.zone, at)
        if found is not None:
            return found
    return None


def _next_change(schedule: Schedule, overrides: Sequence[Override], after: datetime) -> datetime:
    """The first instant after `after` at which the answer of `on_call` may change: a shift
    boundary, a restriction edge, or an override's start or end (`datetime.max` if none)."""
    candidates = [
        edge.astimezone(UTC)
        for o in overrides
        for edge in (o.start, o.end)
        if edge.astimezone(UTC) > after
    ]
    for layer in schedule.layers:
        if not layer.participants:
            continue
        shift = _shift(layer, schedule.zone, after)
        first = _local(layer.start, layer.handoff, schedule.zone)
        candidates.append(shift[2] if shift is not None else first)
        if layer.restriction is not None:
            candidates.append(_window_edges(layer.restriction, schedule.zone, after))
    return min(candidates, default=datetime.max.replace(tzinfo=UTC))


def handoffs(
    schedule: Schedule,
    overrides: Sequence[Override],
    at: datetime,
    *,
    limit: int = 5,
    horizon: timedelta = DEFAULT_HORIZON,
) -> list[Handoff]:
    """The next changes of who is on call after `at` (aware), soonest first: at most `limit`
    of them, none later than `at + horizon`. A change is a new person, or the same person
    from another layer or override."""
    at = at.astimezone(UTC)
    until = at + horizon
    current = on_call(schedule, overrides, at)
    found: list[Handoff] = []
    cursor = at
    for _ in range(_MAX_STEPS):
        if len(found) >= limit:
            break
        cursor = _next_change(schedule, overrides, cursor)
        if cursor > until:
            break
        after = on_call(schedule, overrides, cursor)
        if after is None and current is None:
            continue
        if after is not None and after.same_hands(current):
            current = after
            continue
        found.append(Handoff(cursor, current, after))
        current = after
    return found

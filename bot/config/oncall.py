"""The `people:` and `oncall:` sections: who can be put on call, with their ids on each chat
platform and their email, and the on-call schedules (`oncall.schedules`: rotations in layers,
overrides written in the file). `Settings.load` checks that every participant and override
names a person of `people:` (`oncall_problems`); `OncallSettings.schedule(name)` builds the
routing core's `bot.routing.oncall.Schedule`.

(The top-level `schedules:` key is the job schedule, `bot.config.schedule`; on-call schedules
live under `oncall:`.)"""

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config.platforms import Platforms
from bot.config.section import Section, zone_name
from bot.durations import Duration
from bot.routing import oncall, permission

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.config.routes import Route

PERSON_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
SCHEDULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
EMAIL = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")
PAGERDUTY_USER = re.compile(r"P[A-Z0-9]{6}")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NUMBERS = {**{d: i for i, d in enumerate(DAYS)}, **{d[:3]: i for i, d in enumerate(DAYS)}}


def _day(value: str) -> int:
    number = _DAY_NUMBERS.get(value.strip().lower())
    if number is None:
        raise ValueError(f"unknown day {value!r}; use monday … sunday (or mon … sun)")
    return number


def _minutes(value: str) -> int:
    if not _HHMM.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not a local time like 09:00 (24-hour HH:MM)")
    hours, minutes = value.strip().split(":")
    return int(hours) * 60 + int(minutes)


class Person(Section):
    """One person: `slack` (user id, U… or W…), `mattermost` (26-character user id),
    `email`, and for PagerDuty a `pagerduty_routing_key` (Events API v2 integration key) or a
    `pagerduty_user` (user id P…). At least one way to reach them."""

    name: str | None = None
    slack: str | None = None
    mattermost: str | None = None
    email: str | None = None
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_user: str | None = None

    @field_validator("slack")
    @classmethod
    def _slack_id(cls, value: str | None) -> str | None:
        if value is not None and not permission.SLACK_ID.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a Slack user id (U… or W…, upper-case letters and digits; "
                "a profile's ⋮ → Copy member ID gives it)"
            )
        return value

    @field_validator("mattermost")
    @classmethod
    def _mattermost_id(cls, value: str | None) -> str | None:
        if value is not None and not permission.MATTERMOST_ID.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a Mattermost user id (26 lower-case letters and digits; "
                "`mmctl user search <name>` gives it), not a user name"
            )
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.fullmatch(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("pagerduty_user")
    @classmethod
    def _pagerduty_user(cls, value: str | None) -> str | None:
        if value is not None and not PAGERDUTY_USER.fullmatch(value):
            raise ValueError(f"{value!r} is not a PagerDuty user id (P and 6 letters or digits)")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> "Person":
        if not (self.slack or self.mattermost or self.email or self.pagerduty_routing_key) and (
            self.pagerduty_user is None
        ):
            raise ValueError(
                "give at least one of slack, mattermost, email, pagerduty_routing_key or "
                "pagerduty_user"
            )
        return self

    def identities(self) -> tuple[str, ...]:
        """The person's platform-qualified ids (`slack:U…`, `mattermost:…`)."""
        found = []
        if self.slack:
            found.append(f"slack:{self.slack}")
        if self.mattermost:
            found.append(f"mattermost:{self.mattermost}")
        return tuple(found)


class Restrict(Section):
    """Limit a layer to local `days` (default every day) and `hours` (`09:00-18:00`; an end
    at or before the start crosses midnight, `24:00` is the end of the day)."""

    days: list[str] = Field(default_factory=lambda: list(DAYS))
    hours: str = "00:00-24:00"

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one day, or leave days out for every day")
        for day in value:
            _day(day)
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        start, sep, end = value.partition("-")
        if not sep:
            raise ValueError(f"{value!r}: write hours as HH:MM-HH:MM, e.g. 09:00-18:00")
        if _minutes(start) == _minutes(end):
            raise ValueError("hours start and end at the same time; leave hours out for all day")
        if _minutes(start) == 24 * 60:
            raise ValueError("hours cannot start at 24:00")
        return value

    def to_restriction(self) -> oncall.Restriction:
        start, _, end = self.hours.partition("-")
        return oncall.Restriction(
            frozenset(_day(d) for d in self.days), _minutes(start), _minutes(end)
        )


class LayerConfig(Section):
    """A rotation: `participants` (people ids) take turns of one day (`daily`), one week
    (`weekly`, handing off on `handoff_day`, default the weekday of `start`) or `length`
    (`custom`: whole days hand off at local `handoff` time, anything else is an absolute
    duration), from `start` at `handoff` local time. `restrict` limits when it has someone
    on."""

    name: str | None = None
    rotation: Literal["daily", "weekly", "custom"]
    length: Duration | None = None
    handoff: str = "09:00"
    handoff_day: str | None = None
    start: date
    participants: list[str]
    restrict: Restrict | None = None

    @field_validator("handoff")
    @classmethod
    def _handoff(cls, value: str) -> str:
        if _minutes(value) == 24 * 60:
            raise ValueError("use 00:00 rather than 24:00 for a midnight hand-off")
        return value

    @field_validator("handoff_day")
    @classmethod
    def _handoff_day(cls, value: str | None) -> str | None:
        if value is not None:
            _day(value)
        return value

    @field_validator("participants")
    @classmethod
    def _participants(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a rotation needs at least one participant (a people id)")
        return value

    @model_validator(mode="after")
    def _shape(self) -> "LayerConfig":
        if self.rotation == "custom":
            if self.length is None:
                raise ValueError("a custom rotation needs a length, e.g. length: 12h or 2d")
            if self.length < timedelta(hours=1):
                raise ValueError("length: shifts must last at least 1h")
        elif self.length is not None:
            raise ValueError(f"length is only for custom rotations (this one is {self.rotation})")
        if self.handoff_day is not None and self.rotation != "weekly":
            raise ValueError("handoff_day is only for weekly rotations")
        return self

    def to_layer(self, index: int) -> oncall.Layer:
        handoff = _minutes(self.handoff)
        at = time(handoff // 60, handoff % 60)
        name = self.name or f"layer {index + 1}"
        people = tuple(self.participants)
        restriction = self.restrict.to_restriction() if self.restrict is not None else None
        if self.rotation == "daily":
            return oncall.Layer(name, people, self.start, at, 1, None, restriction)
        if self.rotation == "weekly":
            start = self.start
            if self.handoff_day is not None:
                start += timedelta(days=(_day(self.handoff_day) - start.weekday()) % 7)
            return oncall.Layer(name, people, start, at, 7, None, restriction)
        assert self.length is not None
        if self.length % timedelta(days=1) == timedelta(0):
            return oncall.Layer(name, people, self.start, at, self.length.days, None, restriction)
        return oncall.Layer(name, people, self.start, at, None, self.length, restriction)


class OverrideConfig(Section):
    """`person` is on call from `start` to `end`; a time without an offset is local to the
    schedule's time zone."""

    person: str
    start: datetime
    end: datetime


class ScheduleConfig(Section):
    timezone: str
    layers: list[LayerConfig] = Field(default_factory=list)
    overrides: list[OverrideConfig] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return zone_name(value)

    @model_validator(mode="after")
    def _overrides(self) -> "ScheduleConfig":
        for i, o in enumerate(self.overrides):
            if self._aware(o.end) <= self._aware(o.start):
                raise ValueError(f"overrides[{i}]: end must be after start")
        return self

    def _aware(self, value: datetime) -> datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(self.timezone))
        return value.astimezone(UTC)

    def file_overrides(self) -> tuple[oncall.Override, ...]:
        """The overrides written in the file, in file order (a later one wins)."""
        return tuple(
            oncall.Override(o.person, self._aware(o.start), self._aware(o.end), created_by="config")
            for o in self.overrides
        )


class OncallSettings(Section):
    """`schedules`: on-call schedules by name, referred to as `oncall:<name>`."""

    schedules: dict[str, ScheduleConfig] = Field(default_factory=dict)

    @field_validator("schedules")
    @classmethod
    def _names(cls, value: dict[str, ScheduleConfig]) -> dict[str, ScheduleConfig]:
        for name in value:
            if not SCHEDULE_NAME.fullmatch(name):
                raise ValueError(
                    f"schedule name {name!r}: letters, digits, _, . and - (at most 64)"
                )
        return value

    def schedule(self, name: str) -> oncall.Schedule:
        """The routing core's schedule `name` (KeyError when there is none)."""
        config = self.schedules[name]
        layers = tuple(layer.to_layer(i) for i, layer in enumerate(config.layers))
        return oncall.Schedule(name, ZoneInfo(config.timezone), layers)

    def problems(self, people: dict[str, Person]) -> list[tuple[str, str]]:
        """Every participant or override naming nobody in `people:`, as (YAML path, reason)."""
        known = ", ".join(sorted(people)) or "none are defined"
        found = []
        for name, config in self.schedules.items():
            where = f"oncall.schedules.{name}"
            for i, layer in enumerate(config.layers):
                for j, person in enumerate(layer.participants):
                    if person not in people:
                        found.append(
                            (f"{where}.layers[{i}].participants[{j}]", _unknown(person, known))
                        )
            for i, override in enumerate(config.overrides):
                if override.person not in people:
                    found.append(
                        (f"{where}.overrides[{i}].person", _unknown(override.person, known))
                    )
        return found


def _unknown(person: str, known: str) -> str:
    return f"unknown person {person!r} (people: {known})"


def page_problems(
    routes: "Sequence[Route]", oncall_: OncallSettings, people: dict[str, Person]
) -> list[tuple[str, str]]:
    """Escalation steps paging (`oncall:<schedule>`, `person:<id>`) a schedule or person that
    is not configured, as (YAML path, reason)."""
    found = []
    for i, route in enumerate(routes):
        for k, step in enumerate(route.escalation):
            if step.page and step.after.total_seconds() <= 0:
                # the first page is decided with the alert, before anyone is looked up
                found.append(
                    (
                        f"routes[{i}].escalation[{k}]",
                        "a step paging people needs after > 0 (e.g. after: 1m); "
                        "at 0 the first page goes to channels only",
                    )
                )
            for target in step.page:
                where = f"routes[{i}].escalation[{k}]"
                name = target.partition(":")[2]
                if target.startswith("oncall:") and name not in oncall_.schedules:
                    known = ", ".join(oncall_.schedules) or "none are defined"
                    found.append((where, f"unknown schedule in {target!r} (schedules: {known})"))
                elif target.startswith("person:") and name not in people:
                    found.append((where, _unknown(name, ", ".join(sorted(people)) or "none")))
                elif not target.startswith(("oncall:", "person:")):
                    found.append((where, f"page {target!r}: use oncall:<schedule> or person:<id>"))
    return found


def people_problems(people: dict[str, Person]) -> list[tuple[str, str]]:
    """Bad people ids and platform ids given to two people, as (YAML path, reason)."""
    found = []
    owners: dict[str, str] = {}
    for pid, person in people.items():
        if not PERSON_ID.fullmatch(pid):
            found.append(
                (f"people.{pid}", "a person id is lower-case letters, digits, _, . and - (≤ 64)")
            )
        for ident in person.identities():
            if ident in owners:
                found.append((f"people.{pid}", f"{ident} is also people.{owners[ident]}"))
            owners.setdefault(ident, pid)
    return found


def person_media(settings: Platforms, person: Person) -> tuple[str, ...]:
    """The ways perfbot can reach `person` with this configuration, in paging order."""
    found = []
    if person.slack and settings.slack.bot_token is not None:
        found.append("slack")
    mm = settings.mattermost
    if person.mattermost and mm.url is not None and mm.token is not None:
        found.append("mattermost")
    if person.email and settings.email.host is not None:
        found.append("email")
    if person.pagerduty_routing_key is not None:
        found.append("pagerduty")
    return tuple(found)

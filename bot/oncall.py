"""On-call: who is on call on a configured schedule, from the YAML (`people:`,
`oncall.schedules`) and the overrides stored in the database, through the pure core
`bot.routing.oncall`; and the overrides made at run time, with their permission check and audit.

`OncallService.person_on_call(schedule, at)` is what escalation calls to page a person: the
person on call then, with their platform ids and email."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr

from bot import errors
from bot.clock import Clock
from bot.config import Person, Settings
from bot.config.oncall import person_media
from bot.models import OncallOverride
from bot.routing import oncall, paging, permission, transition
from bot.routing.oncall import Handoff, OnCall
from bot.routing.paging import Contact
from bot.routing.transition import Actor
from bot.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OnCallPerson:
    """The person on call on `schedule` (`id`: their people id) with every way to reach them,
    and the shift (`on_call`) that put them there."""

    schedule: str
    id: str
    name: str
    slack: str | None
    mattermost: str | None
    email: str | None
    pagerduty_routing_key: SecretStr | None
    pagerduty_user: str | None
    on_call: OnCall

    @property
    def identities(self) -> tuple[str, ...]:
        """`slack:U…`, `mattermost:…`: the ids to mention."""
        return tuple(
            f"{platform}:{user}"
            for platform, user in (("slack", self.slack), ("mattermost", self.mattermost))
            if user
        )


@dataclass(frozen=True)
class ScheduleStatus:
    """A schedule now: who is on call (None: nobody) and the next hand-offs."""

    schedule: oncall.Schedule
    now: OnCall | None
    next: tuple[Handoff, ...]


def person_label(settings: Settings, person_id: str) -> str:
    """`Alice Martin (alice)`, or the id alone when the person has no name."""
    person = settings.people.get(person_id)
    if person is None or not person.name or person.name == person_id:
        return person_id
    return f"{permission.display_name(person.name) or person_id} ({person_id})"


class OncallService:
    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock

    @property
    def names(self) -> list[str]:
        """The configured schedules, in file order."""
        return list(self._settings.oncall.schedules)

    def schedule(self, name: str) -> oncall.Schedule:
        """The schedule `name`; raises NotFound with the configured names."""
        if name not in self._settings.oncall.schedules:
            known = ", ".join(self.names) or "none are configured (oncall.schedules)"
            raise errors.NotFound(f"there is no on-call schedule {name!r} (schedules: {known})")
        return self._settings.oncall.schedule(name)

    async def overrides(self, names: list[str], now: datetime) -> dict[str, list[oncall.Override]]:
        """For each schedule of `names`: its overrides in precedence order (a later one wins):
        those written in the file, then the stored ones not removed that end after `now`, in
        the order they were created (a stored one for a person no longer in `people:` is
        ignored, with a warning)."""
        result = {
            name: list(self._settings.oncall.schedules[name].file_overrides()) for name in names
        }
        for row in await self._store.oncall.live(now, names):
            if row.person not in self._settings.people:
                # the person was taken out of people: since; the schedule applies without it
                logger.warning(
                    "on-call override of an unknown person ignored",
                    extra={
                        "action": "oncall_override_ignored",
                        "override": row.id,
                        "schedule": row.schedule,
                        "person": row.person,
                    },
                )
            elif row.schedule in result:
                result[row.schedule].append(_core(row))
        return result

    async def status(self, names: list[str], at: datetime, limit: int = 5) -> list[ScheduleStatus]:
        """Who is on call at `at` on each of `names`, and the next `limit` hand-offs."""
        schedules = [self.schedule(n) for n in names]
        overrides = await self.overrides(names, at)
        return [
            ScheduleStatus(
                s,
                oncall.on_call(s, overrides[s.name], at),
                tuple(oncall.handoffs(s, overrides[s.name], at, limit=limit)),
            )
            for s in schedules
        ]

    async def person_on_call(self, schedule: str, at: datetime) -> OnCallPerson | None:
        """The person on call on `schedule` at `at` (aware), with their platform ids and email,
        or None when nobody is; raises NotFound for an unknown schedule."""
        sched = self.schedule(schedule)
        overrides = await self.overrides([schedule], at)
        found = oncall.on_call(sched, overrides[schedule], at)
        if found is None:
            return None
        person = self._settings.people[found.person]
        return OnCallPerson(
            schedule=schedule,
            id=found.person,
            name=person.name or found.person,
            slack=person.slack,
            mattermost=person.mattermost,
            email=person.email,
            pagerduty_routing_key=person.pagerduty_routing_key,
            pagerduty_user=person.pagerduty_user,
            on_call=found,
        )

    async def directory(self, targets: Iterable[str], at: datetime) -> dict[str, Contact | None]:
        """Each escalation page target (`oncall:<schedule>`, `person:<id>`) as the person it
        reaches at `at`, or None (nobody on call, an unknown schedule or person)."""
        found: dict[str, Contact | None] = {}
        for target in dict.fromkeys(targets):
            schedule, person_id = paging.schedule_of(target), paging.person_of(target)
            if schedule is not None:
                try:
                    on = await self.person_on_call(schedule, at)
                except errors.NotFound:
                    on = None
                found[target] = None if on is None else self._contact(on.id, schedule)
            elif person_id is not None and person_id in self._settings.people:
                found[target] = self._contact(person_id, None)
            else:
                found[target] = None
        return found

    def _contact(self, person_id: str, schedule: str | None) -> Contact:
        person = self._settings.people[person_id]
        return Contact(
            id=person_id,
            name=permission.display_name(person.name or "") or person_id,
            schedule=schedule,
            identities=person.identities(),
            media=person_media(self._settings.platforms, person),
        )

    def person_by_identity(self, ident: str) -> str | None:
        """The people id of the person with platform-qualified id `ident`, or None."""
        return next(
            (pid for pid, p in self._settings.people.items() if ident in p.identities()), None
        )

    def person(self, person_id: str) -> Person:
        person = self._settings.people.get(person_id)
        if person is None:
            known = ", ".join(sorted(self._settings.people)) or "none are configured (people:)"
            raise errors.NotFound(f"{person_id!r} is not in people: ({known})")
        return person

    async def require(self, actor: Actor) -> None:
        """Raise PermissionDenied, after auditing the refusal, unless `actor` may override."""
        allowed = self._settings.permissions.to_permissions()
        if permission.permitted("override", actor.ident, allowed):
            return
        now = self._clock.now()
        reason = (
            f"{actor.label} has no user id"
            if actor.ident is None
            else f"{actor.label} is not in permissions.override"
        )
        async with self._store.alerts.transaction() as audit:
            event = transition.event(None, "refused", now, actor, attempted="override")
            await audit.add_event(
                event.model_copy(update={"details": {**event.details, "reason": reason}})
            )
        logger.warning(
            "action refused",
            extra={"action": "action_refused", "attempted": "override", "actor": actor.label},
        )
        if actor.ident is None:
            raise errors.PermissionDenied(
                "perfbot could not tell who you are (no user id), so nothing was changed"
            )
        raise errors.PermissionDenied(
            "you are not allowed to override on-call schedules (ask an admin to add "
            f"{actor.ident} to permissions.override)"
        )

    async def add_override(
        self, schedule: str, person: str, start: datetime, end: datetime, actor: Actor
    ) -> OncallOverride:
        """Put `person` on call over `schedule` from `start` to `end`, as `actor` (permission
        checked first); the stored override."""
        await self.require(actor)
        self.schedule(schedule)
        self.person(person)
        if end <= start:
            raise errors.BadArguments("an override must end after it starts")
        now = self._clock.now()
        event = transition.event(
            None,
            "override_added",
            now,
            actor,
            schedule=schedule,
            person=person,
            starts_at=start.isoformat(),
            ends_at=end.isoformat(),
        )
        created = await self._store.oncall.add(
            schedule, person, start, end, now, actor.label, event
        )
        logger.info(
            "on-call override added",
            extra={
                "action": "oncall_override_added",
                "override": created.id,
                "schedule": schedule,
                "person": person,
                "actor": actor.label,
            },
        )
        return created

    async def remove_override(self, override_id: int, actor: Actor) -> OncallOverride:
        """End override `override_id` now, as `actor` (permission checked first)."""
        await self.require(actor)
        now = self._clock.now()
        event = transition.event(None, "override_removed", now, actor, override=override_id)
        removed = await self._store.oncall.remove(override_id, now, actor.label, event)
        if removed is None:
            raise errors.NotFound(f"there is no active override #{override_id}")
        logger.info(
            "on-call override removed",
            extra={
                "action": "oncall_override_removed",
                "override": override_id,
                "actor": actor.label,
            },
        )
        return removed


def _core(row: OncallOverride) -> oncall.Override:
    return oncall.Override(row.person, row.starts_at, row.ends_at, row.id, row.created_by)

"""Escalation to people: what an escalation step's `page` targets (`oncall:<schedule>`,
`person:<people id>`) become when the step runs.

The caller resolves each target to a `Contact` at the moment the step runs (who is on call
then, from the schedule and its overrides) and passes them in as a `Directory`; this module
only decides, from that data and `now`: who is paged (a `Paged` record frozen into the alert,
which its card shows), the platform ids mentioned in the alert's thread (`slack:U…`,
`mattermost:<id>`), and one delivery per way to reach each person (`person:<id>:<medium>`,
through the outbox like any channel: direct message on Slack and Mattermost, email,
PagerDuty). A target nobody answers (nobody on call, unknown schedule) pages nobody and says
so. Nothing here reads the clock, the configuration or the database."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.models import Paged
from bot.routing.rules import unique

MEDIA = ("slack", "mattermost", "email", "pagerduty")


@dataclass(frozen=True)
class Contact:
    """A person as a page target resolves to: `id` (people id), display `name`, the schedule
    that put them on call (None for `person:` targets), their platform-qualified chat ids to
    mention (`identities`) and the `media` perfbot can reach them by (subset of `MEDIA`)."""

    id: str
    name: str
    schedule: str | None = None
    identities: tuple[str, ...] = ()
    media: tuple[str, ...] = ()


Directory = Mapping[str, Contact | None]


@dataclass(frozen=True)
class Pages:
    """What paging a step's targets gives: the records to freeze into the alert, the ids to
    mention in its thread, the person channels to deliver to, and unanswered targets."""

    paged: tuple[Paged, ...] = ()
    mention: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    nobody: tuple[str, ...] = ()


def person_channel(person: str, medium: str) -> str:
    """The delivery channel name of one way to reach a person: `person:ada:slack`."""
    return f"person:{person}:{medium}"


def is_person_channel(channel: str) -> bool:
    return channel.startswith("person:")


def page(targets: Iterable[str], directory: Directory, step: int, now: datetime) -> Pages:
    """Page each of `targets` (in order, each person once) as step `step` (1-based) at `now`."""
    paged: list[Paged] = []
    mention: list[str] = []
    channels: list[str] = []
    nobody: list[str] = []
    seen: set[str] = set()
    for target in unique(targets):
        contact = directory.get(target)
        if contact is None:
            nobody.append(target)
            continue
        if contact.id in seen:
            continue
        seen.add(contact.id)
        paged.append(
            Paged(
                person=contact.id, name=contact.name, schedule=contact.schedule, at=now, step=step
            )
        )
        mention.extend(contact.identities)
        channels.extend(person_channel(contact.id, m) for m in contact.media)
    return Pages(tuple(paged), unique(mention), unique(channels), tuple(nobody))


def describe(paged: Paged) -> str:
    """`Ada Lovelace (on call: primary)` or `Ada Lovelace`."""
    return f"{paged.name} (on call: {paged.schedule})" if paged.schedule else paged.name


def schedule_of(target: str) -> str | None:
    """`primary` for `oncall:primary`; None for a `person:` target."""
    return target.removeprefix("oncall:") if target.startswith("oncall:") else None


def person_of(target: str) -> str | None:
    """`ada` for `person:ada`; None for an `oncall:` target."""
    return target.removeprefix("person:") if target.startswith("person:") else None

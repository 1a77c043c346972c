"""On-call commands: who is on call now and the next hand-offs (`oncall`), putting someone on
call for a while (`override`), listing overrides (`overrides`) and ending one (`unoverride`).

A person is found by their platform user id, never by a name: a Slack mention (`<@U…>`, sent
by Slack when the slash command escapes users), a Mattermost mention (`@bob`: Mattermost sends
the name, so the server is asked for that name's id, `ctx.users`, and the person is found by
the id), `me` (the person whose id asked), a platform-qualified id (`slack:U…`,
`mattermost:<id>`) or their id in `people:` (the configuration's own key)."""

import re
from datetime import UTC, datetime, timedelta

from bot import errors
from bot.commands import format as fmt
from bot.commands.args import alert_id, parse, whole_number, window
from bot.commands.context import CommandContext
from bot.commands.registry import PREFIX, Registry, command
from bot.commands.reply import Fields, Paragraph, Reply, table
from bot.durations import parse_duration
from bot.models import ActorSource
from bot.oncall import OncallService, ScheduleStatus, person_label
from bot.routing import permission
from bot.routing.oncall import DEFAULT_HORIZON, Handoff, OnCall, Schedule

SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
MAX_OVERRIDE = timedelta(days=30)
MAX_AT = timedelta(days=366)


def service(ctx: CommandContext) -> OncallService:
    return OncallService(ctx.store, ctx.settings, ctx.clock)


def when_arg(text: str, now: datetime) -> datetime:
    """`--at`: an ISO 8601 time (without an offset: UTC), `now`, or `+6h` from now."""
    cleaned = text.strip()
    if cleaned.lower() == "now":
        return now
    if cleaned.startswith(("+", "-")):
        try:
            delta = parse_duration(cleaned[1:])
        except ValueError:
            raise errors.BadArguments(
                f"{cleaned[:40]!r} is not an offset like +6h or -1d"
            ) from None
        if delta > MAX_AT:
            raise errors.BadArguments("--at must be within a year of now")
        at = now + delta if cleaned[0] == "+" else now - delta
    else:
        try:
            at = datetime.fromisoformat(cleaned)
        except ValueError:
            raise errors.BadArguments(
                f"{cleaned[:40]!r} is not a time; use e.g. 2026-12-24T18:00+01:00, now or +6h"
            ) from None
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    if abs(at - now) > MAX_AT:
        raise errors.BadArguments("--at must be within a year of now")
    return at.astimezone(UTC)


async def resolve_person(ctx: CommandContext, word: str) -> str:
    """The people id that `word` names (see the module docstring); raises BadArguments."""
    text = word.strip()
    if text.lower() == "me":
        return _person(ctx, ctx.user.ident, f"your id ({ctx.user.ident or 'none'})")
    mention = SLACK_MENTION.fullmatch(text)
    if mention is not None:
        ident = f"slack:{mention.group(1)}"
    elif text.startswith("@") and ctx.user.source is ActorSource.MATTERMOST:
        ident = await _mattermost_mention(ctx, text[1:])
    elif text.startswith("@") and ctx.user.source is ActorSource.SLACK:
        raise errors.BadArguments(
            f"Slack sent the name {text[:40]!r}, not the user's id: turn on 'Escape channels, "
            "users, and links' for /perf (manifest: should_escape: true), or write their id"
        )
    elif permission.owner(text) == text and ":" in text:
        ident = text
    elif text in ctx.settings.people:
        return text
    else:
        known = ", ".join(sorted(ctx.settings.people)) or "none are configured"
        raise errors.BadArguments(
            f"who is {text[:40]!r}? Mention them, or write me, their slack:/mattermost: id or "
            f"their id in people: ({known}); names are not trusted"
        )
    return _person(ctx, ident, ident)


def _person(ctx: CommandContext, ident: str | None, shown: str) -> str:
    found = service(ctx).person_by_identity(ident) if ident else None
    if found is None:
        raise errors.BadArguments(f"{shown} is not anyone in people:")
    return found


async def _mattermost_mention(ctx: CommandContext, name: str) -> str:
    if ctx.users is None:
        raise errors.BadArguments(
            "perfbot cannot look Mattermost names up (PERFBOT_MATTERMOST__URL and __TOKEN); "
            "write the person's id in people: instead"
        )
    user_id = await ctx.users.mattermost_user_id(name)
    if user_id is None:
        raise errors.BadArguments(f"Mattermost has no user called @{name[:40]}")
    return f"mattermost:{user_id}"


def _schedule_names(ctx: CommandContext, given: str | None) -> list[str]:
    names = service(ctx).names
    if given is not None:
        service(ctx).schedule(given)  # NotFound with the known names
        return [given]
    if not names:
        raise errors.NotFound("no on-call schedules are configured (oncall.schedules)")
    return names


def _one_schedule(ctx: CommandContext, given: str | None) -> str:
    names = _schedule_names(ctx, given)
    if len(names) > 1:
        raise errors.BadArguments(f"which schedule? name one of {', '.join(names)}")
    return names[0]


def local(moment: datetime, schedule: Schedule) -> str:
    """`Mon 06-08 09:00 Europe/Paris`."""
    return f"{moment.astimezone(schedule.zone):%a %m-%d %H:%M} {schedule.zone}"


def _source(found: OnCall) -> str:
    if found.override is not None:
        ref = f" #{found.override.id}" if found.override.id is not None else " (config)"
        return "override" + ref
    name = found.layer or ""
    return name if name.startswith("layer ") else f"layer {name}"


def _who(ctx: CommandContext, found: OnCall | None) -> str:
    return "nobody" if found is None else person_label(ctx.settings, found.person)


def _status_reply(ctx: CommandContext, status: ScheduleStatus, at: datetime) -> list[Paragraph]:
    s, now = status.schedule, status.now
    until = status.next[0].at if status.next else None
    head = f"{s.name}: {_who(ctx, now)}"
    if now is not None:
        head += f" ({_source(now)})"
    if until is not None:
        head += f", until {local(until, s)} ({fmt.when(until)} UTC)"
    elif now is not None:
        head += f", no hand-off in the next {fmt.span(DEFAULT_HORIZON)}"
    lines = [Paragraph(head)]
    rows = [_handoff_row(ctx, s, h) for h in status.next]
    if rows:
        lines.append(Paragraph("\n".join(rows), mono=True))
    return lines


def _handoff_row(ctx: CommandContext, s: Schedule, h: Handoff) -> str:
    return f"{local(h.at, s)}  {_who(ctx, h.before)} → {_who(ctx, h.after)}"


@command(
    "oncall",
    "oncall [schedule] [--at TIME] [--next N]",
    "who is on call now, and the next hand-offs",
    details=(
        "Without a schedule, every schedule. --at shows another moment (2026-12-24T18:00+01:00, "
        "+6h, -1d; a time without an offset is UTC); --next how many hand-offs (default 5)."
    ),
)
async def oncall_(ctx: CommandContext, args: list[str]) -> Reply:
    now = ctx.now
    parsed = parse(
        args,
        {
            "at": lambda t: when_arg(t, now),
            "next": lambda t: whole_number(t, low=1, high=20, what="--next"),
        },
        max_positional=1,
    )
    at: datetime = parsed.options.get("at", now)
    names = _schedule_names(ctx, parsed.positional[0] if parsed.positional else None)
    statuses = await service(ctx).status(names, at, parsed.options.get("next", 5))
    blocks: list[Paragraph] = []
    for status in statuses:
        blocks += _status_reply(ctx, status, at)
    when = "now" if at == now else f"at {fmt.stamp(at)}"
    return Reply.of(f"On call {when}", *blocks)


@command(
    "override",
    "override <person> <duration> [schedule]",
    "put someone on call from now for a while (at most 30 days)",
    mutating=True,
    details=(
        "The person is a mention (@alice; Slack sends her id, Mattermost's name is looked up "
        "to an id), me, slack:U… / mattermost:<id>, or an id from people:. Example: override @alice 4h primary. Needs "
        "permissions.override. The later override wins where two overlap."
    ),
)
async def override(ctx: CommandContext, args: list[str]) -> Reply:
    oncall = service(ctx)
    await oncall.require(ctx.user)  # refused users learn nothing about people or schedules
    words = parse(args, max_positional=3).positional
    if len(words) < 2:
        raise errors.BadArguments("whom, and for how long? e.g. override @alice 4h")
    person = await resolve_person(ctx, words[0])
    duration = window(words[1], longest=MAX_OVERRIDE)
    schedule = _one_schedule(ctx, words[2] if len(words) > 2 else None)
    now = ctx.now
    created = await oncall.add_override(schedule, person, now, now + duration, ctx.user)
    sched = oncall.schedule(schedule)
    return Reply.of(
        f"{person_label(ctx.settings, person)} is on call for {schedule} until "
        f"{local(created.ends_at, sched)}",
        Fields(
            (
                ("Override", f"#{created.id}"),
                ("Until", fmt.stamp(created.ends_at)),
                ("By", created.created_by),
                ("Undo", f"{PREFIX} unoverride {created.id}"),
            )
        ),
    )


@command("overrides", "overrides [schedule]", "list the current and coming on-call overrides")
async def overrides(ctx: CommandContext, args: list[str]) -> Reply:
    words = parse(args, max_positional=1).positional
    names = _schedule_names(ctx, words[0] if words else None)
    now = ctx.now
    found = await service(ctx).overrides(names, now)
    rows = [
        (
            f"#{o.id}" if o.id is not None else "config",
            name,
            person_label(ctx.settings, o.person),
            fmt.when(o.start),
            fmt.when(o.end),
            o.created_by or "",
        )
        for name in names
        for o in found[name]
        if o.end > now
    ]
    if not rows:
        return Reply(text="No current or coming on-call overrides.")
    return Reply.of(
        fmt.plural(len(rows), "on-call override"),
        table(("id", "schedule", "person", "from (UTC)", "until (UTC)", "by"), rows, limit=30),
    )


@command(
    "unoverride",
    "unoverride <id>",
    "end an on-call override now",
    mutating=True,
    details="Overrides written in the configuration file are removed by editing it.",
)
async def unoverride(ctx: CommandContext, args: list[str]) -> Reply:
    oncall = service(ctx)
    await oncall.require(ctx.user)
    words = parse(args, max_positional=1).positional
    if not words:
        raise errors.BadArguments(f"which override? give its id, e.g. {PREFIX} unoverride 7")
    removed = await oncall.remove_override(alert_id(words[0], "an override"), ctx.user)
    return Reply(
        text=f"Override #{removed.id} ended: {person_label(ctx.settings, removed.person)} "
        f"is no longer on call for {removed.schedule} by it"
    )


def register(registry: Registry) -> None:
    """Add oncall, override, overrides and unoverride to `registry`."""
    registry.add(oncall_, override, overrides, unoverride)

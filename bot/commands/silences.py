"""Silence commands: mute alerts by operation, kind, severity, bottleneck or alert id for a
while; list the active silences; end one early. The alert service checks permissions (before
anything is looked up) and mutes or unmutes the matching open alerts at once; a silence that
mutes CRITICAL alerts of every operation needs `permissions.silence_all` and is capped at
`silences.max_broad`."""

from typing import Any

from bot import errors
from bot.commands import format as fmt
from bot.commands.args import alert_id, operation, parse, window
from bot.commands.args import severity as parse_severity
from bot.commands.context import CommandContext
from bot.commands.registry import PREFIX, Registry, command
from bot.commands.reply import Fields, Reply, table
from bot.durations import parse_duration
from bot.models import BottleneckType, SilenceMatch
from bot.routing.rules import KINDS
from bot.routing.silence import MAX_DURATION, describe

MAX_REASON = 500
GLOB = set("*?[")
KEYS = {
    "op": "operation",
    "operation": "operation",
    "kind": "kind",
    "severity": "severity",
    "bottleneck": "bottleneck",
    "alert": "alert_id",
    "id": "alert_id",
}


def _named_alert(words: list[str]) -> int | None:
    """The alert id a silence's words name (`alert=42`, `id=42`, `#42`), if any, to file a
    refusal under; None when there is none or it is malformed (parsing reports that later)."""
    for word in words:
        key, has_value, value = word.partition("=")
        if has_value and KEYS.get(key.strip().lower()) == "alert_id":
            named = value
        elif not has_value and word.startswith("#"):
            named = word
        else:
            continue
        try:
            return alert_id(named)
        except errors.BadArguments:
            return None
    return None


def _is_duration(word: str) -> bool:
    try:
        parse_duration(word)
    except ValueError:
        return False
    return True


async def parse_match(ctx: CommandContext, words: list[str]) -> SilenceMatch:
    """The silence's match from words like `commit`, `merge*`, `kind=degradation`,
    `severity=warning`, `bottleneck=OBJECT_STORAGE_IO`, `alert=42` or `#42`."""
    fields: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if key in fields:
            raise errors.BadArguments(f"{key.replace('_id', '')} is given twice")
        fields[key] = value

    for word in words:
        key, has_value, value = word.partition("=")
        if has_value and key.strip().lower().startswith("label."):
            labels = fields.setdefault("labels", {})
            label = key.strip()[len("label.") :]
            if not label or not value.strip() or label in labels:
                raise errors.BadArguments(f"{key}= needs a label name and a value, once each")
            labels[label] = value.strip()
        elif has_value:
            name = KEYS.get(key.strip().lower())
            if name is None:
                raise errors.BadArguments(
                    f"unknown match {key!r}; use an operation, kind=, severity=, bottleneck=, "
                    "label.NAME= or alert="
                )
            if not value.strip():
                raise errors.BadArguments(f"{key}= needs a value")
            put(name, await _value(ctx, name, value.strip()))
        elif word.startswith("#"):
            put("alert_id", alert_id(word))
        else:
            put("operation", await _value(ctx, "operation", word))
    return SilenceMatch(**fields)


async def _value(ctx: CommandContext, name: str, value: str) -> Any:
    if name == "alert_id":
        return alert_id(value)
    if name == "severity":
        return parse_severity(value)
    if name == "kind":
        if value.lower() not in KINDS:
            raise errors.BadArguments(f"unknown kind {value!r}; use one of {', '.join(KINDS)}")
        return value.lower()
    if name == "bottleneck":
        try:
            return BottleneckType(value.upper())
        except ValueError:
            names = ", ".join(b.value for b in BottleneckType)
            raise errors.BadArguments(f"unknown bottleneck {value!r}; use one of {names}") from None
    if GLOB & set(value):
        return value  # a pattern: it may match operations that have no data yet
    return await operation(ctx, value)


@command(
    "silence",
    "silence <op|kind=…|severity=…|bottleneck=…|label.NAME=…|alert=ID> <duration> [reason]",
    "mute matching alerts for a while (at most 30 days)",
    mutating=True,
    details=(
        "Examples: silence commit 2h deploying · silence merge* 30m · "
        "silence kind=degradation severity=warning 1d · silence alert=42 1h. "
        "severity=warning mutes WARNING and INFO; an alert that turns CRITICAL still pages. "
        "Muting CRITICAL alerts of every operation (*, severity=critical) needs "
        "permissions.silence_all and lasts at most silences.max_broad."
    ),
)
async def silence(ctx: CommandContext, args: list[str]) -> Reply:
    # permission first: a refused user learns nothing about which operations or alerts exist
    await ctx.alerts.require("silence", ctx.user, _named_alert(args))
    index = next((i for i, word in enumerate(args) if _is_duration(word)), None)
    if index is None:
        raise errors.BadArguments("for how long? add a duration such as 30m, 2h or 1d")
    if index == 0:
        raise errors.BadArguments("what should be silenced? name it before the duration")
    match = await parse_match(ctx, args[:index])
    duration = window(args[index], longest=MAX_DURATION)
    reason = " ".join(args[index + 1 :]).strip() or None
    if reason and len(reason) > MAX_REASON:
        raise errors.BadArguments(f"keep the reason under {MAX_REASON} characters")
    created, note = await ctx.alerts.silence(match, duration, reason, ctx.user)
    facts = [
        ("Silence", f"#{created.id}"),
        ("Mutes", describe(created.match)),
        ("Until", fmt.stamp(created.expires_at)),
        ("By", created.created_by),
    ]
    if reason:
        facts.append(("Reason", reason))
    return Reply.of(note[:1].upper() + note[1:], Fields(tuple(facts)))


@command("silences", "silences", "list the active silences")
async def silences(ctx: CommandContext, args: list[str]) -> Reply:
    parse(args, max_positional=0)
    now = ctx.now
    active = await ctx.store.alerts.active_silences(now)
    if not active:
        return Reply(text="No active silences.")
    rows = [
        (
            f"#{s.id}",
            describe(s.match),
            f"{fmt.when(s.expires_at)} ({fmt.ago(s.expires_at, now)})",
            s.created_by,
            s.reason or "",
        )
        for s in sorted(active, key=lambda s: s.expires_at)
    ]
    return Reply.of(
        f"{len(active)} active silence{'s' if len(active) != 1 else ''}",
        table(("id", "mutes", "until (UTC)", "by", "reason"), rows, limit=30),
    )


@command(
    "unsilence",
    "unsilence <id>",
    "end a silence now; the alerts it muted page again if still open",
    mutating=True,
)
async def unsilence(ctx: CommandContext, args: list[str]) -> Reply:
    words = parse(args, max_positional=1).positional
    if not words:
        raise errors.BadArguments(f"which silence? give its id, e.g. {PREFIX} unsilence 7")
    note = await ctx.alerts.unsilence(alert_id(words[0], "a silence"), ctx.user)
    return Reply(text=note[:1].upper() + note[1:])


def register(registry: Registry) -> None:
    """Add silence, silences and unsilence to `registry`."""
    registry.add(silence, silences, unsilence)

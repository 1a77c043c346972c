"""Alert commands: list alerts, show one, and acknowledge, unacknowledge, escalate or resolve one. The
actions go through `AlertService.act`, which checks permissions (refusals are audited) and
queues the edits of the alert's messages on every platform."""

from bot import cards, errors
from bot.alerts import AlertAction
from bot.commands import format as fmt
from bot.commands.args import alert_id, parse
from bot.commands.context import CommandContext
from bot.commands.registry import PREFIX, Registry, command
from bot.commands.reply import Button, Buttons, Fields, Paragraph, Reply, table
from bot.models import Alert, AlertStatus

LIST_LIMIT = 20
BUTTON_LIMIT = 5
MAX_NOTE = 500
HISTORY_LIMIT = 15

SELECTIONS = {
    "open": (AlertStatus.OPEN,),
    "acked": (AlertStatus.ACKNOWLEDGED,),
    "acknowledged": (AlertStatus.ACKNOWLEDGED,),
    "resolved": (AlertStatus.RESOLVED,),
    "active": (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
    "all": (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED),
}


def state(alert: Alert) -> str:
    """`open`, `acked by alice`, `resolved`, with `, silenced` while muted."""
    if alert.status is AlertStatus.ACKNOWLEDGED:
        text = f"acked by {alert.acknowledged_by}" if alert.acknowledged_by else "acked"
    elif alert.status is AlertStatus.RESOLVED:
        text = "resolved"
    elif alert.escalation_step:
        text = f"open, escalated ({alert.escalation_step})"
    else:
        text = "open"
    if alert.silence_id is not None and alert.status is not AlertStatus.RESOLVED:
        text += ", silenced"
    return text


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@command(
    "alerts",
    "alerts [open|acked|active|resolved|all]",
    "list alerts (default: open)",
    details="open: not yet acknowledged; acked: acknowledged; active: both; all: also resolved.",
)
async def list_alerts(ctx: CommandContext, args: list[str]) -> Reply:
    words = parse(args, max_positional=1).positional
    which = words[0].lower() if words else "open"
    statuses = SELECTIONS.get(which)
    if statuses is None:
        raise errors.BadArguments(f"say which alerts: {', '.join(SELECTIONS)}")
    found = await ctx.store.alerts.with_status(statuses, limit=LIST_LIMIT + 1)
    if not found:
        return Reply(text="No alerts at all." if which == "all" else f"No {which} alerts.")
    now = ctx.now
    rows = [
        (
            f"#{a.id}",
            a.severity.value,
            state(a),
            _short(a.title),
            fmt.ago(a.last_seen, now),
            str(a.occurrences),
        )
        for a in found
    ]
    count = f"{LIST_LIMIT}+" if len(found) > LIST_LIMIT else str(len(found))
    noun = "alert" if which == "all" else f"{which} alert"
    title = f"{count} {noun}{'s' if len(found) != 1 else ''}"
    if which == "all":
        title += ", in any state"
    unacked = [a for a in found[:LIST_LIMIT] if a.status is AlertStatus.OPEN]
    buttons = tuple(
        Button(f"Acknowledge #{a.id}", "ack", a.id, "primary", a.version, a.shown_state)
        for a in unacked[:BUTTON_LIMIT]
    )
    rest = unacked[BUTTON_LIMIT:]
    hint = (
        Paragraph(
            f"Acknowledge the other {len(rest)} open with {PREFIX} ack <id>: "
            + ", ".join(f"#{a.id}" for a in rest)
        )
        if rest
        else None
    )
    return Reply.of(
        title,
        table(
            ("id", "severity", "state", "title", "last seen", "times"),
            rows,
            limit=LIST_LIMIT,
            more=f"more (narrow with {PREFIX} alerts open|acked)",
        ),
        Buttons(buttons) if buttons else None,
        hint,
    )


@command(
    "alert",
    "alert <id>",
    "show one alert: its state, facts and what happened to it",
    aliases=("show",),
)
async def show_alert(ctx: CommandContext, args: list[str]) -> Reply:
    words = parse(args, max_positional=1).positional
    if not words:
        raise errors.BadArguments(f"which alert? give its id, e.g. {PREFIX} alert 42")
    target = alert_id(words[0])
    alert = await ctx.store.alerts.get(target)
    if alert is None:
        raise errors.NotFound(f"there is no alert #{target}")
    now = ctx.now
    facts = [
        ("Severity", alert.severity.value),
        ("Kind", alert.kind.value),
        ("State", state(alert)),
        ("Operations", ", ".join(alert.operation_types) or "(none)"),
        ("First seen", f"{fmt.stamp(alert.first_seen)} ({fmt.ago(alert.first_seen, now)})"),
        ("Last seen", f"{fmt.stamp(alert.last_seen)} ({fmt.ago(alert.last_seen, now)})"),
        ("Times", str(alert.occurrences)),
        ("Route", alert.plan.route),
        ("Channels", ", ".join(alert.notified_channels) or "(none yet)"),
    ]
    if alert.bottleneck is not None:
        facts.append(("Bottleneck", alert.bottleneck.value))
    if alert.summary:
        facts.append(("Summary", alert.summary))
    facts += cards.evidence(alert)
    events = await ctx.store.alerts.events(target)
    rows = [(fmt.stamp(e.at), e.action, e.actor) for e in events[-HISTORY_LIMIT:]]
    history = table(("at (UTC)", "what", "who"), rows, title="History") if rows else None
    buttons: tuple[Button, ...] = ()
    if alert.status is not AlertStatus.RESOLVED:
        first = (
            Button("Unacknowledge", "unack", alert.id, None, alert.version, alert.shown_state)
            if alert.status is AlertStatus.ACKNOWLEDGED
            else Button("Acknowledge", "ack", alert.id, "primary", alert.version, alert.shown_state)
        )
        buttons = (
            first,
            Button("Escalate", "escalate", alert.id, None, alert.version, alert.shown_state),
            Button("Resolve", "resolve", alert.id, "danger", alert.version, alert.shown_state),
        )
    return Reply.of(
        f"Alert #{alert.id}: {_short(alert.title, 120)}",
        Fields(tuple(facts)),
        history,
        Buttons(buttons) if buttons else None,
    )


async def _act(
    ctx: CommandContext, action: AlertAction, args: list[str], *, takes_note: bool
) -> Reply:
    if not args:
        raise errors.BadArguments(f"which alert? give its id, e.g. {PREFIX} {action} 42")
    target = alert_id(args[0])
    note = " ".join(args[1:]).strip() or None
    if note and not takes_note:
        raise errors.BadArguments(f"{action} takes only an alert id")
    if note and len(note) > MAX_NOTE:
        raise errors.BadArguments(f"keep the note under {MAX_NOTE} characters")
    t = await ctx.alerts.act(action, target, ctx.user, note)
    alert = t.alert
    facts = [("Alert", f"#{alert.id} {alert.title}"), ("Severity", alert.severity.value)]
    facts.append(("State", state(alert)))
    if note:
        facts.append(("Note", note))
    return Reply.of(t.note[:1].upper() + t.note[1:], Fields(tuple(facts)))


@command(
    "ack",
    "ack <id> [note]",
    "acknowledge an alert: stops its escalation and reminders",
    mutating=True,
    details="It pages again if the alert gets worse. Undo with unack.",
    aliases=("acknowledge",),
)
async def ack(ctx: CommandContext, args: list[str]) -> Reply:
    return await _act(ctx, "ack", args, takes_note=True)


@command(
    "unack",
    "unack <id>",
    "take back an acknowledgement: the alert is open and escalates again",
    mutating=True,
    aliases=("unacknowledge",),
)
async def unack(ctx: CommandContext, args: list[str]) -> Reply:
    return await _act(ctx, "unack", args, takes_note=False)


@command(
    "escalate",
    "escalate <id> [reason]",
    "run the alert's next escalation step now",
    mutating=True,
)
async def escalate(ctx: CommandContext, args: list[str]) -> Reply:
    return await _act(ctx, "escalate", args, takes_note=True)


@command(
    "resolve",
    "resolve <id> [note]",
    "mark an alert resolved; a new detection fires a new alert",
    mutating=True,
)
async def resolve(ctx: CommandContext, args: list[str]) -> Reply:
    return await _act(ctx, "resolve", args, takes_note=True)


def register(registry: Registry) -> None:
    """Add the alert commands (alerts, alert, ack, unack, escalate, resolve) to `registry`."""
    registry.add(list_alerts, show_alert, ack, unack, escalate, resolve)

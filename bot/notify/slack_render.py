"""Slack Block Kit for alerts: the alert message (header, facts, sparkline, bottleneck pairs and
recommendations, grouped alerts, context, buttons) and the short threaded replies for repeats
and escalations.

Severity shows as an emoji in the header, not an attachment colour bar: top-level blocks keep
the buttons and the notification `text` first-class, where blocks inside a legacy attachment
are collapsed by clients. The buttons' `action_id`s are the contract with the Slack front end;
each button's `value` is the alert id as a string. Slack's limits are respected: at most 50
blocks (the layout has at most a dozen), 3000 characters per section text, 2000 per field,
150 per header, 75 per button.

Every dynamic string (titles, operation names, user names, fingerprints, recommendations) goes
through `bot.notify.escape.slack` before it enters mrkdwn or the message text, and every mrkdwn
object is `verbatim`, so Slack neither auto-links URLs nor parses names in it: the only
`<!here>`, `<@U…>` or `<url|text>` in a message are the ones `mention` builds from the
configured escalation handles. Header and button labels are `plain_text`, which Slack shows as
typed."""

from typing import Any

from bot.models import Alert, AlertStatus
from bot.notify import Notification, escape
from bot.notify import facts as f

ACTION_ACK = "perf_ack"
ACTION_UNACK = "perf_unack"
ACTION_ESCALATE = "perf_escalate"
ACTION_RESOLVE = "perf_resolve"
ACTION_SILENCE_1H = "perf_silence_1h"
ACTION_LINK = (
    "perf_link"  # `perf_link_<n>`: URL buttons; Slack opens the URL, the click is only acked
)


MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_HEADER = 150
MAX_FIELDS = 10
MAX_LISTED_CHILDREN = 20
MAX_LINKS = 25  # elements of one actions block
MAX_URL = 3000


def mention(handle: str) -> str:
    """A handle as Slack mrkdwn: user ids `U…`/`W…` become `<@U…>`, `@here`/`@channel` become
    `<!here>`/`<!channel>`, `S…` group ids `<!subteam^S…>`; anything else is shown as given.
    A person paged by escalation comes as `slack:U…` and is mentioned by that id."""
    bare = handle.strip().removeprefix("slack:").removeprefix("@")
    if handle.startswith("<"):
        return handle
    if bare in ("here", "channel", "everyone"):
        return f"<!{bare}>"
    if bare[:1] in ("U", "W") and bare[1:].isalnum() and bare.isupper():
        return f"<@{bare}>"
    if bare[:1] == "S" and bare[1:].isalnum() and bare.isupper():
        return f"<!subteam^{bare}>"
    return escape.slack(handle if handle.startswith("@") else f"@{handle}")


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": f.truncate(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = MAX_SECTION) -> dict[str, Any]:
    """A `verbatim` mrkdwn text object: formatting and perfbot's own `<…>` sequences apply, but
    Slack does not turn bare URLs, channel or user names in it into links or mentions."""
    return {"type": "mrkdwn", "text": f.truncate(text, limit), "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def fallback_text(notification: Notification) -> str:
    """The notification text Slack shows where blocks cannot be: `[CRITICAL] title (#42): state`."""
    alert = notification.alert
    text = escape.slack(
        f"[{f.event_label(notification)}] {f.headline(alert)}: {f.state(notification)}"
    )
    if notification.mention:
        text = " ".join(mention(m) for m in notification.mention) + " " + text
    return text


def actions(alert: Alert) -> dict[str, Any] | None:
    """The buttons: Acknowledge (or Unacknowledge once acknowledged), Escalate, Resolve and
    Silence 1h, the last two with a confirm dialog; None for a resolved alert. `block_id` changes with every version so
    that Slack treats an edited message's buttons as new."""
    if alert.status is AlertStatus.RESOLVED:
        return None
    value = str(alert.id)
    if alert.status is AlertStatus.ACKNOWLEDGED:
        first = {
            "type": "button",
            "action_id": ACTION_UNACK,
            "text": _plain("Unacknowledge", 75),
            "value": value,
        }
    else:
        first = {
            "type": "button",
            "action_id": ACTION_ACK,
            "text": _plain("Acknowledge", 75),
            "value": value,
            "style": "primary",
        }
    ops = escape.slack(f.truncate(f.operations(alert), 150))
    silence = {
        "type": "button",
        "action_id": ACTION_SILENCE_1H,
        "text": _plain("Silence 1h", 75),
        "value": value,
        "style": "danger",
        "confirm": {
            "title": {"type": "plain_text", "text": f"Silence alert #{alert.id}?"},
            "text": mrkdwn(f"No notifications about *{ops}* for 1 hour.", 300),
            "confirm": {"type": "plain_text", "text": "Silence"},
            "deny": {"type": "plain_text", "text": "Cancel"},
            "style": "danger",
        },
    }
    escalate = {
        "type": "button",
        "action_id": ACTION_ESCALATE,
        "text": _plain("Escalate", 75),
        "value": value,
    }
    return {
        "type": "actions",
        "block_id": f"perf_actions_{alert.id}_{alert.version}",
        "elements": [first, escalate, resolve_button(alert), silence],
    }


def link_buttons(notification: Notification) -> dict[str, Any] | None:
    """The runbook and dashboard links as URL buttons in their own actions block (None
    without links). Slack opens the URL itself; the click it also reports is only acked."""
    buttons = [
        {
            "type": "button",
            "action_id": f"{ACTION_LINK}_{n}",
            "text": _plain(link.label, 75),
            "url": link.url,
        }
        for n, link in enumerate(notification.links[:MAX_LINKS])
        if len(link.url) <= MAX_URL
    ]
    if not buttons:
        return None
    return {
        "type": "actions",
        "block_id": f"perf_links_{notification.alert.id}",
        "elements": buttons,
    }


def resolve_button(alert: Alert) -> dict[str, Any]:
    """Resolve, confirmed first: it ends the alert for everyone (a new detection fires anew)."""
    return {
        "type": "button",
        "action_id": ACTION_RESOLVE,
        "text": _plain("Resolve", 75),
        "value": str(alert.id),
        "confirm": resolve_confirm(alert.id),
    }


def resolve_confirm(alert_id: int) -> dict[str, Any]:
    """The confirm dialog of a Resolve button."""
    return {
        "title": {"type": "plain_text", "text": f"Resolve alert #{alert_id}?"},
        "text": mrkdwn("It stops paging; a new detection fires a new alert.", 300),
        "confirm": {"type": "plain_text", "text": "Resolve"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }


def render(notification: Notification) -> dict[str, Any]:
    """The alert message as `chat.postMessage`/`chat.update` arguments: `{"text", "blocks"}`."""
    alert = notification.alert
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(f"{f.emoji(alert)} {f.headline(alert)}", MAX_HEADER)}
    ]
    intro = [f"*{escape.slack(f.state(notification))}*"]
    if alert.summary:
        intro.append(escape.slack(alert.summary))
    if notification.mention:
        intro.append(" ".join(mention(m) for m in notification.mention))
    if notification.is_fallback:
        intro.append("_Sent to the fallback channel: the primary destination failed._")
    blocks.append(_section("\n".join(intro)))
    fields = [
        mrkdwn(f"*{label}*\n{escape.slack(value)}", MAX_FIELD)
        for label, value in f.facts(notification)
        if label != "State"  # already the first line of the intro
    ]
    for start in range(0, len(fields), MAX_FIELDS):
        blocks.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
    spark = f.sparkline(notification.series)
    if spark is not None:
        caption = escape.slack(f.sparkline_caption(notification.series) or "")
        blocks.append(_section(f"`{spark}`\n{caption}"))
    pairs = f.pairs(alert)
    if pairs:
        blocks.append(_section(_bullets("Correlated operations", pairs)))
    recs = f.recommendations(alert)
    if recs:
        blocks.append(_section(_bullets("Recommendations", recs)))
    if notification.children:
        listed = [
            f"• {escape.slack(f.child_line(c))}"
            for c in notification.children[:MAX_LISTED_CHILDREN]
        ]
        more = len(notification.children) - MAX_LISTED_CHILDREN
        if more > 0:
            listed.append(f"… and {more} more")
        blocks.append(
            _section(f"*Grouped alerts ({len(notification.children)})*\n" + "\n".join(listed))
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    f"perfbot alert *#{alert.id}* · `{escape.slack(f.truncate(alert.fingerprint, 200))}`"
                )
            ],
        }
    )
    links = link_buttons(notification)
    if links is not None:
        blocks.append(links)
    buttons = actions(alert) if notification.event != "test" else None
    if buttons is not None:
        blocks.append(buttons)
    return {"text": fallback_text(notification), "blocks": blocks}


def thread_reply(notification: Notification) -> dict[str, Any]:
    """A short reply in the alert's thread for a repeat or an escalation, with the mentions."""
    who = " ".join(mention(m) for m in notification.mention)
    text = f.truncate(f"{who} {f.thread_text(notification, escape.slack)}".strip(), MAX_SECTION)
    # a verbatim section, so that Slack links no bare URL; `text` is for notifications
    return {"text": text, "blocks": [_section(text)]}


def _bullets(title: str, items: list[str]) -> str:
    return f"*{title}*\n" + "\n".join(f"• {escape.slack(item)}" for item in items)

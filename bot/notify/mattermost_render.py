"""Mattermost posts for alerts: a one-line message plus one `props.attachments` entry with the
severity colour, the facts as fields, sparkline, bottleneck pairs, recommendations, grouped
alerts, and interactive buttons.

Button ids are alphanumeric (`ack`, `unack`, `escalate`, `resolve`, `silence1h`; Mattermost 404s clicks on
ids with `_` or `-`); each carries `integration.url` (perfbot's `/mattermost/actions`) and a
signed `context` from `bot.notify.mattermost_sign` (bound to the post or, for a new post, its
channel; expiring). Without an actions URL or a signing key there are no buttons, since nothing
could receive or verify the clicks.

Every dynamic string (titles, operation names, user names, fingerprints, recommendations) that
enters Markdown (the message, the attachment's title, text and field values) goes through
`bot.notify.escape.mattermost`: no link, image, mention or formatting comes from data, and the
only `@…` mentions are the configured escalation handles that `mention` builds. The attachment
`fallback` and `footer` are plain text in Mattermost and stay as they are, minus line breaks."""

from typing import Any

from bot.models import Alert, AlertStatus
from bot.notify import Notification, escape
from bot.notify import facts as f
from bot.notify.mattermost_sign import Binding, Signer

MAX_MESSAGE = 16383
MAX_FIELD = 2000
MAX_LISTED_CHILDREN = 20


BUTTONS = {
    "ack": ("Acknowledge", "primary"),
    "unack": ("Unacknowledge", "default"),
    "escalate": ("Escalate", "default"),
    "resolve": ("Resolve", "default"),
    "silence1h": ("Silence 1h", "danger"),
}


def mention(handle: str) -> str:
    """`alice` → `@alice`; `@dba-oncall`, `@here` are kept. Handles come from the
    configuration (escalation steps); this is the one place a mention is made."""
    handle = handle.strip()
    return handle if handle.startswith("@") else f"@{handle}"


def _plain(text: str) -> str:
    """Text for a field Mattermost shows without Markdown: one line."""
    return " ".join(escape.email_header(text).split())


def actions(
    alert: Alert, actions_url: str | None, signer: Signer | None, binding: Binding, now: float
) -> list[dict[str, Any]]:
    """The buttons for the alert's state, their contexts bound to `binding` and signed at unix
    time `now`: none once resolved or without URL and signer."""
    if alert.status is AlertStatus.RESOLVED or not actions_url or signer is None:
        return []
    first = "unack" if alert.status is AlertStatus.ACKNOWLEDGED else "ack"
    out = []
    for action_id in (first, "escalate", "resolve", "silence1h"):
        name, style = BUTTONS[action_id]
        out.append(
            {
                "id": action_id,
                "type": "button",
                "name": name,
                "style": style,
                "integration": {
                    "url": actions_url,
                    "context": signer.context(
                        action_id, alert.id, alert.version, alert.shown_state, binding, now
                    ),
                },
            }
        )
    return out


def _body(notification: Notification) -> str:
    alert = notification.alert
    esc = escape.mattermost
    parts = [f"**{f.state(notification, esc)}**"]
    if alert.summary:
        parts.append(esc(alert.summary))
    if notification.is_fallback:
        parts.append("_Sent to the fallback channel: the primary destination failed._")
    spark = f.sparkline(notification.series)
    if spark is not None:
        parts.append(f"`{spark}` {f.sparkline_caption(notification.series)}")
    pairs = f.pairs(alert, esc)
    if pairs:
        parts.append("**Correlated operations**\n" + "\n".join(f"- {p}" for p in pairs))
    recs = f.recommendations(alert, esc)
    if recs:
        parts.append("**Recommendations**\n" + "\n".join(f"- {r}" for r in recs))
    if notification.links:
        parts.append(links(notification))
    if notification.children:
        listed = [f"- {f.child_line(c, esc)}" for c in notification.children[:MAX_LISTED_CHILDREN]]
        more = len(notification.children) - MAX_LISTED_CHILDREN
        if more > 0:
            listed.append(f"- … and {more} more")
        parts.append(f"**Grouped alerts ({len(notification.children)})**\n" + "\n".join(listed))
    return "\n\n".join(parts)


def links(notification: Notification) -> str:
    """`**Links:** [Runbook](https://…) · [Dashboard](https://…)`: labels escaped, URLs
    made safe for a Markdown link target."""
    return "**Links:** " + " · ".join(
        f"[{escape.mattermost(link.label)}]({f.markdown_url(link.url)})"
        for link in notification.links
    )


def message(notification: Notification) -> str:
    """The post's own text, which push notifications show: mentions and a headline."""
    alert = notification.alert
    text = f"{f.emoji(alert)} **[{f.event_label(notification)}]** {f.headline(alert, escape.mattermost)}"
    if notification.mention:
        text = " ".join(mention(m) for m in notification.mention) + " " + text
    return f.truncate(text, MAX_MESSAGE)


def render(
    notification: Notification,
    *,
    actions_url: str | None,
    signer: Signer | None,
    binding: Binding,
    now: float,
) -> dict[str, Any]:
    """The alert post as `{"message", "props": {"attachments": [...]}}`, for create (buttons
    bound to the channel) and patch (bound to the post), drawn at unix time `now`."""
    alert = notification.alert
    attachment = {
        "fallback": _plain(
            f"[{f.event_label(notification)}] {f.headline(alert)}: {f.state(notification)}"
        ),
        "color": f.color(alert),
        "title": f.headline(alert, escape.mattermost),
        "text": f.truncate(_body(notification), MAX_MESSAGE),
        "fields": [
            {
                "short": label not in ("Value", "Operations"),
                "title": label,
                "value": f.truncate(value, MAX_FIELD),
            }
            for label, value in f.facts(notification, escape.mattermost)
        ],
        "footer": _plain(f"perfbot alert #{alert.id} · {f.truncate(alert.fingerprint, 200)}"),
        "actions": (
            actions(alert, actions_url, signer, binding, now)
            if notification.event != "test"
            else []
        ),
    }
    return {"message": message(notification), "props": {"attachments": [attachment]}}


def thread_reply(notification: Notification) -> str:
    """A reply in the alert's thread for a repeat or an escalation, with the mentions."""
    who = " ".join(mention(m) for m in notification.mention)
    text = f.thread_text(notification, escape.mattermost)
    return f"{who} {text}" if who else text

"""Alert emails: `multipart/alternative` with a plain-text part and an HTML part, every value
HTML-escaped (operation names and summaries are user data), and a Subject without line breaks
or other control characters (`bot.notify.escape.email_header`: a title with a newline would
otherwise make the message refuse the header).

Subjects sort and scan well: `[CRITICAL] perfbot: commit latency anomaly (#42)` while the alert
is news, `[ACK]`, `[UNACK]`, `[ESCALATED]` or `[RESOLVED]` for what happened since; the `(#42)`
always ends it. Threading: the first mail's `Message-ID` is derived from the alert id, a hash of
its fingerprint and the sender's domain, so every later mail can name it in `In-Reply-To` and
`References` even without a stored reference; later mails get their own ids per event and
alert version, so a retried delivery reuses its id."""

import hashlib
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from bot.models import Alert
from bot.notify import Notification, escape
from bot.notify import facts as f

FALLBACK_DOMAIN = "perfbot.invalid"


def domain_of(sender: str) -> str:
    """The domain of the From address (`PerfBot <perfbot@example.com>` → `example.com`)."""
    _, address = parseaddr(sender)
    _, at, domain = address.rpartition("@")
    domain = domain.strip().strip("[]")
    return domain if at and domain else FALLBACK_DOMAIN


def _alert_key(alert: Alert) -> str:
    return f"alert-{alert.id}.{hashlib.sha256(alert.fingerprint.encode()).hexdigest()[:16]}"


def root_message_id(alert: Alert, sender: str) -> str:
    """The Message-ID of the alert's first mail: `<perfbot.alert-42.<hash>@example.com>`."""
    return f"<perfbot.{_alert_key(alert)}@{domain_of(sender)}>"


def event_message_id(notification: Notification, sender: str) -> str:
    """The Message-ID of a later mail, stable for one event of one alert version."""
    alert = notification.alert
    return (
        f"<perfbot.{_alert_key(alert)}.{notification.event}.v{alert.version}@{domain_of(sender)}>"
    )


def subject(notification: Notification) -> str:
    """`[CRITICAL] perfbot: commit latency anomaly (#42)`, on one line whatever the title."""
    alert = notification.alert
    return escape.email_header(
        f"[{f.event_label(notification)}] perfbot: {alert.title} (#{alert.id})"
    )


def _lists(notification: Notification) -> list[tuple[str, list[str]]]:
    alert = notification.alert
    sections = [
        ("Correlated operations", f.pairs(alert)),
        ("Recommendations", f.recommendations(alert)),
        (
            f"Grouped alerts ({len(notification.children)})",
            [f.child_line(c) for c in notification.children],
        ),
    ]
    return [(title, items) for title, items in sections if items]


def text_body(notification: Notification) -> str:
    alert = notification.alert
    lines = [f.headline(alert), f"State: {f.state(notification)}", ""]
    if notification.mention:
        lines[0:0] = ["Attention: " + ", ".join(notification.mention), ""]
    if notification.is_fallback:
        lines.append("Sent to the fallback channel: the primary destination failed.\n")
    if alert.summary:
        lines += [alert.summary, ""]
    width = max(len(label) for label, _ in f.facts(notification))
    lines += [f"{label + ':':<{width + 1}} {value}" for label, value in f.facts(notification)]
    spark = f.sparkline(notification.series)
    if spark is not None:
        lines += ["", f"{spark}  {f.sparkline_caption(notification.series)}"]
    for title, items in _lists(notification):
        lines += ["", f"{title}:"] + [f"  - {item}" for item in items]
    if notification.links:
        lines += ["", "Links:"] + [f"  - {link.label}: {link.url}" for link in notification.links]
    lines += ["", f"perfbot alert #{alert.id} · {alert.fingerprint}"]
    return "\n".join(lines) + "\n"


def html_body(notification: Notification) -> str:
    alert = notification.alert
    esc = escape.html
    out = [
        '<!DOCTYPE html><html><body style="font-family:sans-serif">',
        f'<div style="border-left:6px solid {f.color(alert)};padding-left:12px">',
    ]
    if notification.mention:
        out.append(f"<p>Attention: {esc(', '.join(notification.mention))}</p>")
    out.append(f"<h2>{esc(f.headline(alert))}</h2>")
    out.append(f"<p><strong>{esc(f.state(notification))}</strong></p>")
    if notification.is_fallback:
        out.append("<p><em>Sent to the fallback channel: the primary destination failed.</em></p>")
    if alert.summary:
        out.append(f"<p>{esc(alert.summary)}</p>")
    out.append('<table cellpadding="4">')
    for label, value in f.facts(notification):
        out.append(f'<tr><th align="left">{esc(label)}</th><td>{esc(value)}</td></tr>')
    out.append("</table>")
    spark = f.sparkline(notification.series)
    if spark is not None:
        caption = esc(f.sparkline_caption(notification.series) or "")
        out.append(
            f'<p><span style="font-family:monospace;font-size:1.4em">{esc(spark)}</span> {caption}</p>'
        )
    for title, items in _lists(notification):
        out.append(f"<h3>{esc(title)}</h3><ul>")
        out += [f"<li>{esc(item)}</li>" for item in items]
        out.append("</ul>")
    if notification.links:
        out.append("<h3>Links</h3><ul>")
        out += [
            f'<li><a href="{esc(link.url)}">{esc(link.label)}</a></li>'
            for link in notification.links
        ]
        out.append("</ul>")
    out.append(f'<p style="color:#777">perfbot alert #{alert.id} · {esc(alert.fingerprint)}</p>')
    out.append("</div></body></html>")
    return "\n".join(out)


def render(notification: Notification, *, sender: str, to: list[str]) -> EmailMessage:
    """The whole mail, headers included; `fired` carries the root Message-ID, every other event
    its own id and `In-Reply-To`/`References` pointing at the root (or at `previous`)."""
    alert = notification.alert
    root = root_message_id(alert, sender)
    if notification.previous and isinstance(notification.previous.get("message_id"), str):
        root = notification.previous["message_id"]
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject(notification)
    msg["Date"] = format_datetime(alert.updated_at)
    if notification.event == "fired":
        msg["Message-ID"] = root
    else:
        msg["Message-ID"] = event_message_id(notification, sender)
        msg["In-Reply-To"] = root
        msg["References"] = root
    msg["X-Perfbot-Alert"] = str(alert.id)
    msg["X-Perfbot-Event"] = notification.event
    msg.set_content(text_body(notification))
    msg.add_alternative(html_body(notification), subtype="html")
    return msg

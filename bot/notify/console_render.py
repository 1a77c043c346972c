"""Alerts in the terminal: one rich panel per event, its border in the severity's colour, the
title line `#42 CRITICAL commit latency anomaly`, the state, the key facts, the sparkline and a
bottleneck's pairs and recommendations. Alert text is escaped twice: for Rich markup, so
`[bold]` in an operation name prints as typed, and for the terminal
(`bot.notify.escape.console`), so an escape sequence or line break in it is shown as `\x1b` or
`\n` and can neither recolour the terminal nor forge lines."""

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.humanize import plural
from bot.notify import Notification
from bot.notify import escape as esc
from bot.notify import facts as f

SKIPPED_FACTS = ("Severity", "State")  # already in the panel's title and first line


def render(notification: Notification) -> Panel:
    alert = notification.alert
    colour = f.color(alert)
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for label, value in f.facts(notification, esc.console):
        if label not in SKIPPED_FACTS:
            table.add_row(Text(label), Text(value))
    shown = f.state(notification, esc.console)
    if not shown.startswith(notification.event):  # no `escalated: escalated to step 2`
        shown = f"{notification.event}: {shown}"
    parts: list[Text | Table] = [Text(shown, style="bold")]
    if notification.mention:
        handles = " ".join(esc.console(m) for m in notification.mention)
        parts.append(Text(f"Attention: {handles}", style="bold yellow"))
    if alert.summary and not f.evidence(alert):  # else the evidence says it, line by line
        parts.append(Text(esc.console(alert.summary)))
    parts.append(table)
    spark = f.sparkline(notification.series)
    if spark is not None:
        parts.append(Text(f"{spark}\n{f.sparkline_caption(notification.series)}", style=colour))
    for title, items in (
        ("Correlated operations", f.pairs(alert, esc.console)),
        ("Recommendations", f.recommendations(alert, esc.console)),
        ("Grouped alerts", [f.child_line(c, esc.console) for c in notification.children]),
    ):
        if items:
            parts.append(Text(f"{title}:\n" + "\n".join(f"  • {i}" for i in items)))
    if notification.links:
        lines = [
            f"  • {esc.console(link.label)}: {esc.console(link.url)}" for link in notification.links
        ]
        parts.append(Text("Links:\n" + "\n".join(lines)))
    title = (
        f"[bold]#{alert.id} {f.event_label(notification)}[/bold] {escape(esc.console(alert.title))}"
    )
    return Panel(Group(*parts), title=title, title_align="left", border_style=colour)


def update_line(notification: Notification) -> Text:
    """`#42 updated CRITICAL commit latency anomaly — 5 occurrences, last seen 08:36 UTC, …`"""
    alert = notification.alert
    parts = [plural(alert.occurrences, "occurrence"), f"last seen {alert.last_seen:%H:%M} UTC"]
    if alert.parent_id is not None:
        parts.append(f"grouped under #{alert.parent_id}")
    if notification.children:
        parts.append(plural(len(notification.children), "grouped alert"))
    line = Text(f"#{alert.id} updated ", style="dim")
    line.append(f"{alert.severity.value} ", style=f.color(alert))
    line.append(f"{esc.console(alert.title)} — {', '.join(parts)}")
    return line

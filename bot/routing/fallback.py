"""The seed-compatible default route, used when no configured route matches.

First page, by channel *type* among the configured channels (in configuration order within a
type): CRITICAL → Mattermost + Slack + email; WARNING → Mattermost + Slack; INFO → Slack.
PagerDuty is never a first-page target. When none of those types is configured the console
channels take the page; when there is nothing at all the list is empty and the explanation
says so.

Default escalation, measured from the first page:
* CRITICAL notifies every tier at once: a step `after 0` adds the CRITICAL tier's remaining
  channels (PagerDuty, and email when it was not already paged), so it fires with the alert;
* WARNING escalates after 10 minutes unacknowledged to the CRITICAL tier;
* INFO escalates after 30 minutes unacknowledged to the WARNING tier.
A tier adds only channels not already paged; a step that would add nothing is left out."""

from collections.abc import Mapping
from datetime import timedelta

from bot.models import EscalationStep, Severity

FIRST_PAGE_TYPES: dict[Severity, tuple[str, ...]] = {
    Severity.CRITICAL: ("mattermost", "slack", "email"),
    Severity.WARNING: ("mattermost", "slack"),
    Severity.INFO: ("slack",),
}
TIER_TYPES: dict[Severity, tuple[str, ...]] = {
    Severity.CRITICAL: ("mattermost", "slack", "email", "pagerduty"),
    Severity.WARNING: ("mattermost", "slack"),
    Severity.INFO: ("slack",),
}
# severity → (delay, the tier it escalates to)
DEFAULT_ESCALATION: dict[Severity, tuple[timedelta, Severity]] = {
    Severity.CRITICAL: (timedelta(0), Severity.CRITICAL),
    Severity.WARNING: (timedelta(minutes=10), Severity.CRITICAL),
    Severity.INFO: (timedelta(minutes=30), Severity.WARNING),
}


def _of_types(types: tuple[str, ...], channels: Mapping[str, str]) -> tuple[str, ...]:
    """Channel names whose type is in `types`: grouped by type in `types` order, then in
    configuration order."""
    return tuple(name for t in types for name, kind in channels.items() if kind == t)


def first_page(severity: Severity, channels: Mapping[str, str]) -> tuple[tuple[str, ...], str]:
    """The default first-page channels for `severity` among `channels` (name → type), and a
    one-line explanation."""
    types = FIRST_PAGE_TYPES[severity]
    wanted = " + ".join(types)
    picked = _of_types(types, channels)
    if picked:
        return picked, f"{wanted} → {', '.join(picked)}"
    console = _of_types(("console",), channels)
    if console:
        return console, f"{wanted}: none configured, so the console → {', '.join(console)}"
    return (), f"{wanted}: none configured and no console channel; nobody will be notified"


def escalation(
    severity: Severity, channels: Mapping[str, str]
) -> tuple[tuple[EscalationStep, ...], str]:
    """The default escalation steps for `severity` among `channels` (name → type), and a
    one-line explanation."""
    after, tier = DEFAULT_ESCALATION[severity]
    paged, _ = first_page(severity, channels)
    added = tuple(c for c in _of_types(TIER_TYPES[tier], channels) if c not in paged)
    minutes = int(after.total_seconds() // 60)
    when = "at once" if after == timedelta(0) else f"after {minutes}m unacknowledged"
    if not added:
        return (), f"the {tier} tier adds no channel beyond the first page; no escalation"
    step = EscalationStep(after=after, notify=added)
    return (step,), f"{when} → {tier} tier: {', '.join(added)}"

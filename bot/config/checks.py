"""Cross-field checks: problems no single section can see, reported as (YAML path, reason).

Routes, escalation steps and `delivery.fallback` must name known channels (declared or
implicit), route names must be unique, and every declared channel needs its platform's
settings. `Settings.load` runs these once every section is valid."""

from collections.abc import Collection, Mapping, Sequence

from bot.config.channels import (
    ChannelConfig,
    EmailChannel,
    MattermostChannel,
    PagerDutyChannel,
    SlackChannel,
)
from bot.config.implicit import all_channels
from bot.config.platforms import Platforms
from bot.config.routes import Route


def reference_problems(
    routes: Sequence[Route],
    channels: Mapping[str, ChannelConfig],
    fallback: str | None,
    platforms: Platforms,
) -> list[tuple[str, str]]:
    """Every cross-field problem as (YAML path, reason), in YAML order: routes naming unknown
    channels or sharing a name, an unknown `delivery.fallback`, channels whose platform settings
    are missing."""
    known = set(all_channels(channels, platforms))
    problems = _route_problems(routes, known)
    if fallback is not None and fallback not in known:
        problems.append(("delivery.fallback", f"unknown channel {fallback!r}"))
    for name, channel in channels.items():
        gap = platform_gap(channel, platforms)
        if gap:
            problems.append((f"channels.{name}", gap))
    return problems


def _route_problems(routes: Sequence[Route], known: Collection[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    names = [r.name for r in routes]
    for i, route in enumerate(routes):
        if names.count(route.name) > 1:
            problems.append((f"routes[{i}].name", f"duplicate route name {route.name!r}"))
        for j, channel in enumerate(route.notify):
            if channel not in known:
                problems.append((f"routes[{i}].notify[{j}]", f"unknown channel {channel!r}"))
        for k, step in enumerate(route.escalation):
            for j, channel in enumerate(step.notify):
                if channel not in known:
                    where = f"routes[{i}].escalation[{k}].notify[{j}]"
                    problems.append((where, f"unknown channel {channel!r}"))
    return problems


def platform_gap(channel: ChannelConfig, platforms: Platforms) -> str | None:
    """Why `channel` cannot be used with these platform settings, or None. The notifiers'
    registry (`bot.notify.registry`) refuses a channel for the same reason."""
    if isinstance(channel, SlackChannel) and platforms.slack.bot_token is None:
        return "a slack channel needs PERFBOT_SLACK__BOT_TOKEN"
    mattermost = platforms.mattermost
    if isinstance(channel, MattermostChannel) and (
        mattermost.url is None or mattermost.token is None
    ):
        return "a mattermost channel needs PERFBOT_MATTERMOST__URL and PERFBOT_MATTERMOST__TOKEN"
    if isinstance(channel, EmailChannel) and platforms.email.host is None:
        return "an email channel needs PERFBOT_EMAIL__HOST"
    if (
        isinstance(channel, PagerDutyChannel)
        and channel.key(platforms.pagerduty.routing_key) is None
    ):
        return "a pagerduty channel needs a routing_key or PERFBOT_PAGERDUTY__ROUTING_KEY"
    return None

"""Channels that exist without a `channels:` entry.

A platform configured only through the environment (say `PERFBOT_SLACK__BOT_TOKEN` and
`PERFBOT_SLACK__CHANNEL`) gets a channel named after it, and with nothing configured at all
alerts go to `console`, the terminal. Everything that lists channels (routing, notifiers,
`config check`, `/perf status`) goes through `all_channels`, usually as
`Settings.all_channels()`."""

from collections.abc import Mapping

from bot.config.channels import (
    ChannelConfig,
    ConsoleChannel,
    EmailChannel,
    MattermostChannel,
    PagerDutyChannel,
    SlackChannel,
)
from bot.config.platforms import Platforms


def all_channels(
    declared: Mapping[str, ChannelConfig], platforms: Platforms
) -> dict[str, ChannelConfig]:
    """The `declared` channels plus implicit ones: a channel named after each platform whose
    environment settings name a default destination and that has no channel in the YAML, and
    `console` (the terminal) when nothing else is configured. Declared channels come first, in
    YAML order."""
    channels: dict[str, ChannelConfig] = dict(declared)
    types = {c.type for c in channels.values()}
    slack, mattermost, email, pagerduty = (
        platforms.slack,
        platforms.mattermost,
        platforms.email,
        platforms.pagerduty,
    )
    if "slack" not in types and slack.bot_token and slack.channel:
        channels.setdefault("slack", SlackChannel(type="slack", channel=slack.channel))
    if "mattermost" not in types and mattermost.url and mattermost.token and mattermost.channel_id:
        channels.setdefault(
            "mattermost", MattermostChannel(type="mattermost", channel_id=mattermost.channel_id)
        )
    if "email" not in types and email.host and email.to:
        channels.setdefault("email", EmailChannel(type="email", to=email.to))
    if "pagerduty" not in types and pagerduty.routing_key:
        channels.setdefault("pagerduty", PagerDutyChannel(type="pagerduty"))
    if not channels:
        channels["console"] = ConsoleChannel(type="console")
    return channels

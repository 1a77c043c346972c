"""Cross-field checks: problems no single section can see, reported as (YAML path, reason).

Routes, escalation steps and `delivery.fallback` must name known channels (declared or
implicit), route names must be unique, and every declared channel needs its platform's
settings; `retention:` must keep what detection, alerting and chat read. `Settings.load` runs
these once every section is valid."""

from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta

from bot.config.alerts import AlertSettings
from bot.config.channels import (
    ChannelConfig,
    EmailChannel,
    MattermostChannel,
    PagerDutyChannel,
    SlackChannel,
)
from bot.config.detection import (
    BaselineSettings,
    CorrelationSettings,
    DegradationSettings,
    DetectionSettings,
)
from bot.config.implicit import all_channels
from bot.config.platforms import Platforms
from bot.config.routes import Route
from bot.config.schedule import RetentionSettings
from bot.config.source import SourceSettings
from bot.durations import format_duration

HOUR = timedelta(hours=1)
OWN_METRICS = "perfbot.metrics"  # the one metrics table retention prunes
# Detection reads the minute rollups of the current and previous hour (its robust detector's
# 16 minutes, from the hour's start), and alert messages chart the last hour of them.
MINUTES_READ = timedelta(hours=2)
MERGES_READ = timedelta(days=8)  # `/perf merges`: the last day against the week before it
JOB_STATS_READ = timedelta(days=1)  # `/perf jobs` and `/perf status`: failures in 24 h


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


def retention_problems(
    keep: RetentionSettings,
    detection: DetectionSettings,
    degradation: DegradationSettings,
    correlation: CorrelationSettings,
    baselines: BaselineSettings,
    alerts: AlertSettings,
    source: SourceSettings,
) -> list[tuple[str, str]]:
    """Retention periods shorter than what perfbot itself reads back, as (YAML path, reason)."""
    problems: list[tuple[str, str]] = []

    def at_least(key: str, minimum: timedelta, why: str) -> None:
        kept: timedelta = getattr(keep, key)
        if kept < minimum:
            problems.append(
                (
                    f"retention.{key}",
                    f"{format_duration(kept)} is too short: {why} "
                    f"(keep at least {format_duration(minimum)})",
                )
            )

    if source.table == OWN_METRICS and source.late_check > HOUR:
        at_least(
            "metrics",
            source.late_check,
            "rows committed late are found by re-counting the raw rows of source.late_check",
        )
    else:
        at_least("metrics", HOUR, "late rows are rolled up from the raw rows of the last hour")
    at_least(
        "rollup_minute",
        max(correlation.lookback, MINUTES_READ),
        f"correlation reads {format_duration(correlation.lookback)} of minute rollups "
        "(correlation.lookback) and detection the last 2h",
    )
    hours_read = max(detection.lookback, degradation.lookback, baselines.lookback) + HOUR
    at_least(
        "rollup_hour",
        max(hours_read, keep.rollup_minute),
        "detection, degradation and baselines read hourly rollups over their lookbacks, "
        "and hourly rollups must outlive the minute rollups they summarise",
    )
    at_least(
        "anomalies",
        degradation.lookback,
        "degradation is judged without the hours of the spikes found over degradation.lookback",
    )
    at_least(
        "alerts",
        alerts.recurrence_window,
        "the recurrence rule counts the alerts of alerts.recurrence_window",
    )
    at_least("merges", MERGES_READ, "/perf merges compares the last day with the week before")
    at_least("job_runs", JOB_STATS_READ, "/perf jobs shows the failures of the last 24h")
    if keep.batch_seconds > keep.budget:
        problems.append(
            (
                "retention.batch_seconds",
                f"{format_duration(keep.batch_seconds)} is longer than retention.budget "
                f"({format_duration(keep.budget)})",
            )
        )
    return problems

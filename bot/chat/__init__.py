"""Chat front ends: Slack (Bolt, HTTP and Socket Mode), Mattermost (slash command and button
endpoints) and the local console. Each turns what a user typed or clicked into a `/perf`
command for the shared registry (`bot.commands`) and renders the `Reply` for its platform."""

from typing import TYPE_CHECKING

from aiohttp import web

from bot.chat import mattermost, slack
from bot.commands import Commands

if TYPE_CHECKING:
    from bot.app import Bot


def commands_for(bot: "Bot") -> Commands:
    """The command service over the bot's store, alert service, settings, clock and jobs."""
    schedule = {spec.name: spec.expected_gap() for spec in bot.jobs.specs()}
    return Commands(bot.store, bot.alerts, bot.settings, bot.clock, schedule)


def mount(app: web.Application, bot: "Bot") -> None:
    """Mount the configured chat front ends into perfbot's HTTP app (a `Bot.routes` hook)."""
    commands = commands_for(bot)
    latency = bot.metrics.slash_seconds
    slack.mount(app, commands, bot.settings.slack, observe=latency.labels("slack").observe)
    mattermost.mount(
        app, commands, bot.settings.mattermost, observe=latency.labels("mattermost").observe
    )

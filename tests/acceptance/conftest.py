"""A whole perfbot (`Bot.serve`: HTTP server with the chat front ends, scheduler, delivery
worker) on a free port, talking to the Slack and Mattermost stand-ins, on a fresh database."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.app import Bot
from bot.clock import SystemClock
from bot.config import Settings
from bot.store import Store
from tests.acceptance.slack_user import SIGNING_SECRET, SlackUser
from tests.fakes import mattermost, slack
from tests.fakes.mattermost import MattermostFake
from tests.fakes.server import free_port
from tests.fakes.slack import SlackFake

MM_COMMAND_TOKEN = "mm-command-token-0123456789"


def chat_settings(
    port: int, slack_fake: SlackFake, mattermost_fake: MattermostFake, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "http": {"host": "127.0.0.1", "port": port},
        "slack": {
            "bot_token": slack_fake.token,
            "signing_secret": SIGNING_SECRET,
            "api_url": slack_fake.api_url,
        },
        "mattermost": {
            "url": mattermost_fake.url,
            "token": mattermost_fake.token,
            "command_token": MM_COMMAND_TOKEN,
            "actions_url": f"http://127.0.0.1:{port}/mattermost/actions",
        },
        "channels": {
            "oncall-slack": {"type": "slack", "channel": slack.CHANNEL_ID},
            "oncall-mm": {"type": "mattermost", "channel_id": mattermost.CHANNEL_ID},
        },
        "routes": [{"name": "everything", "notify": ["oncall-slack", "oncall-mm"]}],
        "permissions": {
            "ack": ["*"],
            "escalate": ["*"],
            "silence": ["slack:U2147483697", f"mattermost:{mattermost.ALICE_ID}"],
            "resolve": ["slack:U2147483697", f"mattermost:{mattermost.ALICE_ID}"],
        },
        "delivery": {"rate_limits": {}, "backoff_base": "50ms", "backoff_max": "200ms"},
    }
    values.update(overrides)
    return Settings.load(**values)


@dataclass
class LiveBot:
    bot: Bot
    url: str
    slack: SlackFake
    mattermost: MattermostFake

    def slack_user(self, user: tuple[str, str] | None = None) -> SlackUser:
        return SlackUser(self.slack, f"{self.url}/slack/events", *([user] if user else []))


async def start(settings: Settings, store: Store) -> tuple[Bot, asyncio.Event, asyncio.Task[None]]:
    bot = Bot.build(settings, store, SystemClock(), timeout=5.0)
    stop, ready = asyncio.Event(), asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    task = asyncio.create_task(bot.serve(stop, on_ready))
    async with asyncio.timeout(10):
        await ready.wait()
    return bot, stop, task


@pytest.fixture
async def live(
    store: Store, slack_fake: SlackFake, mattermost_fake: MattermostFake
) -> AsyncIterator[LiveBot]:
    port = free_port()
    bot, stop, task = await start(chat_settings(port, slack_fake, mattermost_fake), store)
    try:
        yield LiveBot(bot, f"http://127.0.0.1:{port}", slack_fake, mattermost_fake)
    finally:
        stop.set()
        async with asyncio.timeout(20):
            await task

"""A person using Slack, as Slack's servers would relay it to perfbot: slash commands and
button clicks POSTed to `/slack/events` as form bodies signed with the app's signing secret
(v0 HMAC-SHA256 over `v0:{timestamp}:{body}`), with `response_url`s handed out by the Slack
stand-in so that perfbot's delayed answers can be read back."""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.fakes import slack
from tests.fakes.slack import SlackFake

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ALICE = ("U2147483697", "alice")


def signature(secret: str, timestamp: str, body: str) -> str:
    return (
        "v0="
        + hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    )


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, age_s: float = 0.0
) -> dict[str, str]:
    timestamp = str(int(time.time() - age_s))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(secret, timestamp, body),
    }


@dataclass
class Sent:
    status: int
    body: str
    response_url: str

    @property
    def rid(self) -> str:
        return self.response_url.rsplit("/", 1)[-1]


class SlackUser:
    def __init__(self, fake: SlackFake, events_url: str, user: tuple[str, str] = ALICE) -> None:
        self.fake = fake
        self.events_url = events_url
        self.user_id, self.user_name = user

    def slash_body(self, text: str, response_url: str) -> str:
        return urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": slack.TEAM_ID,
                "team_domain": "example",
                "channel_id": slack.CHANNEL_ID,
                "channel_name": slack.CHANNEL_NAME,
                "user_id": self.user_id,
                "user_name": self.user_name,
                "command": "/perf",
                "text": text,
                "api_app_id": "A0PERF",
                "is_enterprise_install": "false",
                "response_url": response_url,
                "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            }
        )

    def click_body(self, action_id: str, value: str, message_ts: str, response_url: str) -> str:
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {
                "id": self.user_id,
                "username": self.user_name,
                "name": self.user_name,
                "team_id": slack.TEAM_ID,
            },
            "api_app_id": "A0PERF",
            "token": "legacy-verification-token",
            "team": {"id": slack.TEAM_ID, "domain": "example"},
            "enterprise": None,
            "is_enterprise_install": False,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": slack.CHANNEL_ID,
                "is_ephemeral": False,
            },
            "channel": {"id": slack.CHANNEL_ID, "name": slack.CHANNEL_NAME},
            "message": {"type": "message", "ts": message_ts, "text": "alert"},
            "state": {"values": {}},
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "response_url": response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "perf_actions",
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)})

    async def post(
        self, session: aiohttp.ClientSession, body: str, headers: dict[str, str]
    ) -> tuple[int, str]:
        async with session.post(self.events_url, data=body.encode(), headers=headers) as response:
            return response.status, await response.text()

    async def slash(self, text: str, *, age_s: float = 0.0, secret: str = SIGNING_SECRET) -> Sent:
        response_url = self.fake.new_response_url()
        body = self.slash_body(text, response_url)
        async with aiohttp.ClientSession(
            trust_env=False, timeout=aiohttp.ClientTimeout(total=10)
        ) as session:
            status, answer = await self.post(
                session, body, signed_headers(body, secret=secret, age_s=age_s)
            )
        return Sent(status, answer, response_url)

    async def click(self, action_id: str, alert_id: int, message_ts: str) -> Sent:
        response_url = self.fake.new_response_url()
        body = self.click_body(action_id, str(alert_id), message_ts, response_url)
        async with aiohttp.ClientSession(
            trust_env=False, timeout=aiohttp.ClientTimeout(total=10)
        ) as session:
            status, answer = await self.post(session, body, signed_headers(body))
        return Sent(status, answer, response_url)

    def replies(self, sent: Sent) -> list[dict[str, Any]]:
        """What perfbot posted to the request's response_url so far."""
        return self.fake.response_urls[sent.rid].posts

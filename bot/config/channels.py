"""The `channels:` section: named destinations, one of six types (a tagged union on `type`).

A channel says *where* on its platform (a Slack channel, an email list); the platform's
credentials are in `bot.config.platforms`. Channels that exist without a YAML entry are made
by `bot.config.implicit`."""

import re
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from bot.config.secrets import Secret
from bot.config.section import Section

CHANNEL_TYPES = ("slack", "mattermost", "email", "pagerduty", "webhook", "console")


class SlackChannel(Section):
    type: Literal["slack"]
    channel: str = Field(min_length=1)


class MattermostChannel(Section):
    type: Literal["mattermost"]
    channel_id: str = Field(min_length=1)


class EmailChannel(Section):
    type: Literal["email"]
    to: Annotated[list[str], Field(min_length=1)]

    @field_validator("to", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
                raise ValueError(f"{address!r} is not an email address")
        return value


class PagerDutyChannel(Section):
    type: Literal["pagerduty"]
    routing_key: Secret | None = None  # default: PERFBOT_PAGERDUTY__ROUTING_KEY

    def key(self, default: SecretStr | None) -> SecretStr | None:
        """The routing key events go out with: this channel's, else `default`, the platform's
        `PERFBOT_PAGERDUTY__ROUTING_KEY`."""
        return self.routing_key or default


class WebhookChannel(Section):
    type: Literal["webhook"]
    url: AnyHttpUrl
    secret: Secret | None = None  # signs each request (README: the verify recipe)


class ConsoleChannel(Section):
    type: Literal["console"]


ChannelConfig = Annotated[
    SlackChannel
    | MattermostChannel
    | EmailChannel
    | PagerDutyChannel
    | WebhookChannel
    | ConsoleChannel,
    Field(discriminator="type"),
]


def check_names(value: dict[str, Any]) -> dict[str, Any]:
    """The `channels:` mapping unchanged; raises ValueError on a name that is not a plain word."""
    for name in value:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", name):
            raise ValueError(
                f"channel name {name!r}: use letters, digits, '-', '_' or '.' (max 63)"
            )
    return value

"""Platform settings: credentials and defaults for Slack, Mattermost, email and PagerDuty, and
perfbot's own HTTP server. These usually come from the environment (`PERFBOT_SLACK__BOT_TOKEN`)
rather than the YAML file; secrets are `SecretStr` and never printed, and a secret that is set
must not be empty (`bot.config.secrets.Secret`)."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from bot.config.http import HttpSettings as HttpSettings  # re-exported: it was defined here
from bot.config.secrets import Secret
from bot.config.section import Section
from bot.durations import Duration


class SlackSettings(Section):
    bot_token: Secret | None = None
    signing_secret: Secret | None = None
    app_token: Secret | None = None
    api_url: str = "https://slack.com/api/"
    channel: str | None = None  # default alert channel when no slack channel is configured


class MattermostSettings(Section):
    url: str | None = None
    token: Secret | None = None
    command_token: Secret | None = None
    actions_url: str | None = None
    actions_secret: Secret | None = None  # HMAC key for button contexts; default: the bot token
    # how long a button works after its message was drawn (re-drawn on every alert update)
    actions_ttl: Duration = Field(default=timedelta(days=7), gt=timedelta(minutes=1))
    channel_id: str | None = None


class EmailSettings(Section):
    host: str | None = None
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: Secret | None = None
    from_: str = Field(default="perfbot@localhost", alias="from")
    starttls: bool = False
    use_tls: bool = False
    to: list[str] = Field(default_factory=list)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("to", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


class PagerDutySettings(Section):
    routing_key: Secret | None = None
    events_url: str = "https://events.pagerduty.com/v2/enqueue"


@dataclass(frozen=True)
class Platforms:
    """The four notification platforms' settings together, as the cross-checks and the implicit
    channels need them (`Settings.platforms`)."""

    slack: SlackSettings
    mattermost: MattermostSettings
    email: EmailSettings
    pagerduty: PagerDutySettings

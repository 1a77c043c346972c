"""`Settings`, the root of the configuration: one field per YAML section, built once at start-up
by `Settings.load` and passed down.

Every YAML key is optional and unknown keys are errors. `Settings.load` reads keyword
arguments, the environment and the YAML file (`bot.config.loader`), then runs the cross-field
checks (`bot.config.checks`); either step reports every problem with its YAML path."""

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config import channels as channels_
from bot.config import checks, implicit, loader, secrets
from bot.config.alertmanager import AlertmanagerSettings
from bot.config.alerts import AlertSettings
from bot.config.channels import ChannelConfig
from bot.config.delivery import DeliverySettings
from bot.config.detection import (
    BaselineSettings,
    CorrelationSettings,
    DegradationSettings,
    DetectionSettings,
)
from bot.config.display import DisplaySettings
from bot.config.heartbeat import HeartbeatSettings
from bot.config.links import LinkSettings
from bot.config.oncall import OncallSettings, Person, page_problems, people_problems
from bot.config.permissions import PermissionSettings
from bot.config.platforms import (
    EmailSettings,
    HttpSettings,
    MattermostSettings,
    PagerDutySettings,
    Platforms,
    SlackSettings,
)
from bot.config.routes import Route
from bot.config.schedule import RetentionSettings, ScheduleSettings
from bot.config.silences import SilenceSettings
from bot.config.source import SourceSettings
from bot.errors import ConfigError
from bot.routing.links import LinkRule


class Settings(BaseSettings):
    """The whole configuration; see the section classes for each key."""

    model_config = SettingsConfigDict(
        env_prefix="PERFBOT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    database_url: SecretStr | None = None
    data_dir: Path | None = None
    config: Path | None = None
    replica: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    http: HttpSettings = Field(default_factory=HttpSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    mattermost: MattermostSettings = Field(default_factory=MattermostSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    pagerduty: PagerDutySettings = Field(default_factory=PagerDutySettings)

    source: SourceSettings = Field(default_factory=SourceSettings)
    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    degradation: DegradationSettings = Field(default_factory=DegradationSettings)
    correlation: CorrelationSettings = Field(default_factory=CorrelationSettings)
    baselines: BaselineSettings = Field(default_factory=BaselineSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    schedules: ScheduleSettings = Field(default_factory=ScheduleSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    permissions: PermissionSettings = Field(default_factory=PermissionSettings)
    silences: SilenceSettings = Field(default_factory=SilenceSettings)
    people: dict[str, Person] = Field(default_factory=dict)
    oncall: OncallSettings = Field(default_factory=OncallSettings)
    links: list[LinkSettings] = Field(default_factory=list)
    heartbeat: HeartbeatSettings = Field(default_factory=HeartbeatSettings)
    alertmanager: AlertmanagerSettings = Field(default_factory=AlertmanagerSettings)
    display: DisplaySettings = Field(default_factory=DisplaySettings)

    _channel_names = field_validator("channels")(channels_.check_names)
    _database_url = field_validator("database_url")(secrets.check_database_url)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, loader.YamlFile.named_by(settings_cls, init_settings))

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> "Settings":
        """Build Settings from the environment and the YAML file (`config_file`, else
        `PERFBOT_CONFIG`). Raises ConfigError listing every problem with its YAML path."""
        settings = loader.build(cls, config_file, overrides)
        problems = (
            checks.reference_problems(
                settings.routes, settings.channels, settings.delivery.fallback, settings.platforms
            )
            + settings.permissions.problems()
            + checks.retention_problems(
                settings.retention,
                settings.detection,
                settings.degradation,
                settings.correlation,
                settings.baselines,
                settings.alerts,
                settings.source,
            )
            + people_problems(settings.people)
            + settings.oncall.problems(settings.people)
            + page_problems(settings.routes, settings.oncall, settings.people)
        )
        if problems:
            raise ConfigError([f"{where}: {why}" for where, why in problems])
        return settings

    @property
    def platforms(self) -> Platforms:
        """The four notification platforms' settings together."""
        return Platforms(self.slack, self.mattermost, self.email, self.pagerduty)

    def all_channels(self) -> dict[str, ChannelConfig]:
        """The configured channels plus the implicit ones (`bot.config.implicit`): a channel per
        platform configured only by the environment, and `console` when nothing else is."""
        return implicit.all_channels(self.channels, self.platforms)

    def link_rules(self) -> tuple[LinkRule, ...]:
        """The `links:` section as the routing core's rules, in order."""
        return tuple(entry.to_rule() for entry in self.links)

    def dump_safe(self) -> dict[str, Any]:
        """The effective configuration as JSON-able data, secrets masked."""
        return self.model_dump(mode="json", by_alias=True)

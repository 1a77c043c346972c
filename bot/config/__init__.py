"""Configuration: the one reader of the environment and of the YAML file.

Values come, highest priority first, from keyword arguments, `PERFBOT_*` environment variables
(`__` nests: `PERFBOT_SLACK__BOT_TOKEN`), the YAML file (`PERFBOT_CONFIG` or `--config`), and
the defaults of the sections. Every YAML key is optional and unknown keys are errors. Secrets
are `SecretStr` and never printed; `load` (`Settings.load`) reports every problem with its YAML
path.

Modules: `settings` (the root `Settings`), one module per section's schema (`source`,
`detection`, `alerts`, `schedule`, `delivery`, `channels`, `platforms`, `routes`,
`permissions`), `loader` (YAML file, environment, error lines), `checks` (cross-field checks),
`implicit` (channels that exist without a YAML entry), `params` (sections → analysis
parameters and the lifecycle policy) and `build` (the routing core's `Router`,
`LifecyclePolicy`, `RetryPolicy`)."""

from bot.config.alerts import AlertSettings
from bot.config.channels import (
    CHANNEL_TYPES,
    ChannelConfig,
    ConsoleChannel,
    EmailChannel,
    MattermostChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
)
from bot.config.delivery import DeliverySettings
from bot.config.detection import (
    BaselineSettings,
    CorrelationSettings,
    DegradationSettings,
    DetectionSettings,
)
from bot.config.loader import describe_errors
from bot.config.oncall import OncallSettings, Person
from bot.config.params import params
from bot.config.permissions import PermissionSettings
from bot.config.platforms import (
    EmailSettings,
    HttpSettings,
    MattermostSettings,
    PagerDutySettings,
    Platforms,
    SlackSettings,
)
from bot.config.routes import Route, RouteMatch
from bot.config.schedule import RetentionSettings, ScheduleSettings
from bot.config.section import Section
from bot.config.settings import Settings
from bot.config.source import PGGIT_MERGE_COLUMNS, MergeColumns, MetricColumns, SourceSettings

load = Settings.load

__all__ = [
    "CHANNEL_TYPES",
    "PGGIT_MERGE_COLUMNS",
    "AlertSettings",
    "BaselineSettings",
    "ChannelConfig",
    "ConsoleChannel",
    "CorrelationSettings",
    "DegradationSettings",
    "DeliverySettings",
    "DetectionSettings",
    "EmailChannel",
    "EmailSettings",
    "HttpSettings",
    "MattermostChannel",
    "MattermostSettings",
    "MergeColumns",
    "MetricColumns",
    "OncallSettings",
    "PagerDutyChannel",
    "PagerDutySettings",
    "PermissionSettings",
    "Person",
    "Platforms",
    "RetentionSettings",
    "Route",
    "RouteMatch",
    "ScheduleSettings",
    "Section",
    "Settings",
    "SlackChannel",
    "SlackSettings",
    "SourceSettings",
    "WebhookChannel",
    "describe_errors",
    "load",
    "params",
]

"""Configuration: the one reader of the environment and of the YAML file.

Values come, highest priority first, from keyword arguments, `PERFBOT_*` environment variables
(`__` nests: `PERFBOT_SLACK__BOT_TOKEN`), the YAML file (`PERFBOT_CONFIG` or `--config`), and
the defaults here. Every YAML key is optional and unknown keys are errors. Secrets are
`SecretStr` and never printed; `Settings.load` reports every problem with its YAML path."""

import os
import re
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.durations import Duration
from bot.errors import ConfigError
from bot.routing.rules import Route

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _qualified_name(value: str) -> str:
    parts = value.split(".")
    if len(parts) > 2 or not all(_IDENT.match(p) for p in parts):
        raise ValueError(f"{value!r} is not a table name like schema.table")
    return value


def _column_name(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(f"{value!r} is not a plain column name")
    return value


class MetricColumns(Section):
    operation_type: str = "operation_type"
    duration_ms: str = "duration_ms"
    recorded_at: str = "recorded_at"

    _check = field_validator("*")(_column_name)


class MergeColumns(Section):
    """Column names of the merges table; `merge_id`, `strategy` and `user_name` may be null to
    mean "the source has no such column"."""

    merge_id: str | None = "merge_id"
    source_branch: str = "source_branch"
    target_branch: str = "target_branch"
    status: str = "status"
    strategy: str | None = "strategy"
    conflicts: str = "conflicts"
    auto_resolved: str = "auto_resolved"
    auto_failed: str = "auto_failed"
    base_find: str = "base_find_ms"
    conflict_detect: str = "conflict_detect_ms"
    auto_resolve: str = "auto_resolve_ms"
    total: str = "total_ms"
    started_at: str = "started_at"
    completed_at: str | None = "completed_at"
    user_name: str | None = "user_name"

    @field_validator("*")
    @classmethod
    def _check(cls, value: str | None) -> str | None:
        return None if value is None else _column_name(value)


PGGIT_MERGE_COLUMNS = MergeColumns(
    merge_id="merge_metric_id",
    source_branch="source_branch_id",
    target_branch="target_branch_id",
    status="merge_status",
    strategy=None,
    conflicts="conflict_count",
    auto_resolved="auto_resolution_success_count",
    auto_failed="auto_resolution_failure_count",
    base_find="merge_base_calculation_us",
    conflict_detect="conflict_detection_us",
    auto_resolve="auto_resolution_us",
    total="total_merge_us",
    started_at="started_at",
    completed_at="completed_at",
    user_name="user_name",
)


class SourceSettings(Section):
    """Where metrics and merges are read from. `preset: pggit` reads pgGit's own tables in place
    (`pggit.performance_metrics`, `pggit.merge_performance_metrics`, durations in µs)."""

    preset: Literal["perfbot", "pggit"] = "perfbot"
    table: str = "perfbot.metrics"
    columns: MetricColumns = Field(default_factory=MetricColumns)
    merges_table: str = "perfbot.merges"
    merge_columns: MergeColumns = Field(default_factory=MergeColumns)
    merge_duration_unit: Literal["ms", "us"] = "ms"

    _tables = field_validator("table", "merges_table")(_qualified_name)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") == "pggit":
            filled = {
                "table": "pggit.performance_metrics",
                "merges_table": "pggit.merge_performance_metrics",
                "merge_columns": PGGIT_MERGE_COLUMNS.model_dump(),
                "merge_duration_unit": "us",
            }
            return {**filled, **data}
        return data


class DetectionSettings(Section):
    interval: Duration = timedelta(seconds=60)
    lookback: Duration = timedelta(hours=24)
    z_warning: float = Field(default=3.0, gt=0)
    z_critical: float = Field(default=4.0, gt=0)
    min_samples: int = Field(default=5, ge=2)
    detector: Literal["robust", "zscore"] = "robust"
    settle: Duration = timedelta(seconds=5)

    @model_validator(mode="after")
    def _ordered(self) -> "DetectionSettings":
        if self.z_critical < self.z_warning:
            raise ValueError("z_critical must be at least z_warning")
        return self


class DegradationSettings(Section):
    lookback: Duration = timedelta(days=7)
    info_pct: float = Field(default=20.0, gt=0)
    warning_pct: float = Field(default=30.0, gt=0)
    critical_pct: float = Field(default=50.0, gt=0)
    min_samples: int = Field(default=50, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> "DegradationSettings":
        if not self.info_pct <= self.warning_pct <= self.critical_pct:
            raise ValueError("need info_pct <= warning_pct <= critical_pct")
        return self


class CorrelationSettings(Section):
    """Pearson r over 1-minute means of the operations degraded now. The lookback is 2 h, not
    the original 24 h: over a day, a 30-minute incident is a sliver of variance and its r stays
    far below 0.75 (measured in the demo: 0.16-0.67 over 24 h, 0.82-0.87 over 2 h)."""

    interval: Duration = timedelta(minutes=5)
    lookback: Duration = timedelta(hours=2)
    threshold: float = Field(default=0.75, ge=0, le=1)
    critical: float = Field(default=0.9, ge=0, le=1)
    min_buckets: int = Field(default=10, ge=3)

    @model_validator(mode="after")
    def _ordered(self) -> "CorrelationSettings":
        if self.critical < self.threshold:
            raise ValueError("critical must be at least threshold")
        return self


class BaselineSettings(Section):
    cron: str = "0 2 * * *"
    lookback: Duration = timedelta(days=7)
    min_samples: int = Field(default=10, ge=1)
    min_change_pct: float = Field(default=5.0, ge=0)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("cron needs five fields: minute hour day month weekday")
        return value


class AlertSettings(Section):
    """Alert lifecycle: auto-resolve after `resolve_after` without a new detection; `recurrence`
    alerts for one operation within `recurrence_window` make it CRITICAL; `repeat_every`
    re-notifies an unacknowledged open alert (null: never)."""

    resolve_after: Duration = timedelta(minutes=30)
    recurrence: int = Field(default=3, ge=2)
    recurrence_window: Duration = timedelta(hours=1)
    repeat_every: Duration | None = None
    min_severity: Literal["INFO", "WARNING", "CRITICAL"] = "WARNING"


class ScheduleSettings(Section):
    escalate: Duration = timedelta(seconds=15)
    cleanup_cron: str = "0 3 * * *"


class RetentionSettings(Section):
    anomalies: Duration = timedelta(days=30)
    correlations: Duration = timedelta(days=7)
    rollup_minute: Duration = timedelta(days=2)
    rollup_hour: Duration = timedelta(days=90)
    job_runs: Duration = timedelta(days=30)
    deliveries: Duration = timedelta(days=30)


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
    routing_key: SecretStr | None = None  # default: PERFBOT_PAGERDUTY__ROUTING_KEY


class WebhookChannel(Section):
    type: Literal["webhook"]
    url: AnyHttpUrl
    secret: SecretStr | None = None


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


class DeliverySettings(Section):
    max_attempts: int = Field(default=5, ge=1)
    backoff_base: Duration = timedelta(seconds=5)
    backoff_max: Duration = timedelta(minutes=5)
    fallback: str | None = None
    timeout: Duration = timedelta(seconds=10)
    lease: Duration = timedelta(seconds=60)
    concurrency: int = Field(default=16, ge=1)
    # Messages per second per destination, by channel type; a type not listed is not limited.
    # Slack allows about 1 message/s per channel, PagerDuty about 120 events/min per key.
    rate_limits: dict[str, float] = Field(
        default_factory=lambda: {"slack": 1.0, "mattermost": 10.0, "pagerduty": 2.0, "email": 5.0}
    )
    burst: int = Field(default=3, ge=1)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown: Duration = timedelta(seconds=60)


class PermissionSettings(Section):
    """Who may do what, by chat user id or user name; `*` allows everyone."""

    ack: list[str] = Field(default_factory=lambda: ["*"])
    escalate: list[str] = Field(default_factory=lambda: ["*"])
    silence: list[str] = Field(default_factory=lambda: ["*"])
    resolve: list[str] = Field(default_factory=lambda: ["*"])


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    public_url: str | None = None  # how chat platforms reach this server, for links


class SlackSettings(Section):
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_url: str = "https://slack.com/api/"
    channel: str | None = None  # default alert channel when no slack channel is configured


class MattermostSettings(Section):
    url: str | None = None
    token: SecretStr | None = None
    command_token: SecretStr | None = None
    actions_url: str | None = None
    actions_secret: SecretStr | None = None  # HMAC key for button contexts; default: the bot token
    channel_id: str | None = None


class EmailSettings(Section):
    host: str | None = None
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
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
    routing_key: SecretStr | None = None
    events_url: str = "https://events.pagerduty.com/v2/enqueue"


CHANNEL_TYPES = ("slack", "mattermost", "email", "pagerduty", "webhook", "console")

_yaml_data: ContextVar[dict[str, Any]] = ContextVar("perfbot_yaml_data", default={})  # noqa: B039


class _YamlSource(PydanticBaseSettingsSource):
    """The parsed YAML file, below the environment in priority."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return _yaml_data.get().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_yaml_data.get())


class Settings(BaseSettings):
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", name):
                raise ValueError(
                    f"channel name {name!r}: use letters, digits, '-', '_' or '.' (max 63)"
                )
        return value

    def reference_problems(self) -> list[tuple[str, str]]:
        """Cross-field problems as (YAML path, reason): routes naming unknown channels, channels
        whose platform settings are missing."""
        known = set(self.all_channels())
        problems: list[tuple[str, str]] = []
        names = [r.name for r in self.routes]
        for i, route in enumerate(self.routes):
            if names.count(route.name) > 1:
                problems.append((f"routes[{i}].name", f"duplicate route name {route.name!r}"))
            for j, channel in enumerate(route.notify):
                if channel not in known:
                    problems.append((f"routes[{i}].notify[{j}]", f"unknown channel {channel!r}"))
            for k, step in enumerate(route.escalation):
                for j, channel in enumerate(step.notify):
                    if channel not in known:
                        problems.append(
                            (
                                f"routes[{i}].escalation[{k}].notify[{j}]",
                                f"unknown channel {channel!r}",
                            )
                        )
        if self.delivery.fallback is not None and self.delivery.fallback not in known:
            problems.append(("delivery.fallback", f"unknown channel {self.delivery.fallback!r}"))
        for channel_name, config in self.channels.items():
            needs = self._platform_gap(config)
            if needs:
                problems.append((f"channels.{channel_name}", needs))
        return problems

    def _platform_gap(self, channel: Any) -> str | None:
        if isinstance(channel, SlackChannel) and self.slack.bot_token is None:
            return "a slack channel needs PERFBOT_SLACK__BOT_TOKEN"
        if isinstance(channel, MattermostChannel) and (
            self.mattermost.url is None or self.mattermost.token is None
        ):
            return (
                "a mattermost channel needs PERFBOT_MATTERMOST__URL and PERFBOT_MATTERMOST__TOKEN"
            )
        if isinstance(channel, EmailChannel) and self.email.host is None:
            return "an email channel needs PERFBOT_EMAIL__HOST"
        if (
            isinstance(channel, PagerDutyChannel)
            and channel.routing_key is None
            and self.pagerduty.routing_key is None
        ):
            return "a pagerduty channel needs a routing_key or PERFBOT_PAGERDUTY__ROUTING_KEY"
        return None

    def all_channels(self) -> dict[str, ChannelConfig]:
        """The configured channels plus implicit ones: a channel named after each platform whose
        environment settings name a default destination and that has no channel in the YAML,
        and `console` (the terminal) when nothing else is configured."""
        channels: dict[str, ChannelConfig] = dict(self.channels)
        declared = {c.type for c in channels.values()}
        if "slack" not in declared and self.slack.bot_token and self.slack.channel:
            channels.setdefault("slack", SlackChannel(type="slack", channel=self.slack.channel))
        if (
            "mattermost" not in declared
            and self.mattermost.url
            and self.mattermost.token
            and self.mattermost.channel_id
        ):
            channels.setdefault(
                "mattermost",
                MattermostChannel(type="mattermost", channel_id=self.mattermost.channel_id),
            )
        if "email" not in declared and self.email.host and self.email.to:
            channels.setdefault("email", EmailChannel(type="email", to=self.email.to))
        if "pagerduty" not in declared and self.pagerduty.routing_key:
            channels.setdefault("pagerduty", PagerDutyChannel(type="pagerduty"))
        if not channels:
            channels["console"] = ConsoleChannel(type="console")
        return channels

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> "Settings":
        """Build Settings from the environment and the YAML file (`config_file`, else
        `PERFBOT_CONFIG`). Raises ConfigError listing every problem with its YAML path."""
        path = config_file or _env_path("PERFBOT_CONFIG")
        data = _read_yaml(path) if path is not None else {}
        token = _yaml_data.set(data)
        try:
            kwargs: dict[str, Any] = {**overrides}
            if path is not None:
                kwargs.setdefault("config", path)
            settings = cls(**kwargs)
        except ValidationError as exc:
            raise ConfigError(describe_errors(exc)) from None
        finally:
            _yaml_data.reset(token)
        problems = settings.reference_problems()
        if problems:
            raise ConfigError([f"{where}: {why}" for where, why in problems])
        return settings

    def dump_safe(self) -> dict[str, Any]:
        """The effective configuration as JSON-able data, secrets masked."""
        return self.model_dump(mode="json", by_alias=True)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [f"{path}: cannot read the configuration file ({exc.strerror})"]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError([f"{where}: {problem}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of settings"])
    return data


def describe_errors(exc: ValidationError) -> list[str]:
    """One line per problem: `routes[1].match.severity[0]: Input should be …`. Input values are
    never echoed, so secrets cannot leak into error output."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{_yaml_path(error['loc']) or '(top level)'}: {message}")
    return lines


def _yaml_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in CHANNEL_TYPES and path.startswith("channels."):
            continue  # the discriminated-union tag pydantic inserts
        else:
            path += f".{part}" if path else str(part)
    return path

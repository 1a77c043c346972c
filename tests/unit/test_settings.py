from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import ConfigError

FULL = """
source:
  table: perfbot.metrics
  columns: {operation_type: operation_type, duration_ms: duration_ms, recorded_at: recorded_at}
  merges_table: perfbot.merges
detection:   {interval: 60s, lookback: 24h, z_warning: 3.0, z_critical: 4.0, min_samples: 5}
degradation: {lookback: 7d, info_pct: 20, warning_pct: 30, critical_pct: 50}
correlation: {interval: 5m, lookback: 24h, threshold: 0.75, critical: 0.9, min_buckets: 10}
baselines:   {cron: "0 2 * * *", lookback: 7d, min_samples: 10, min_change_pct: 5}
channels:
  oncall-slack: {type: slack, channel: "#perf-alerts"}
  oncall-mm:    {type: mattermost, channel_id: "4xp9fdt7pbgium38k5k6hj9dhc"}
  dba-email:    {type: email, to: ["dba@example.com"]}
  pager:        {type: pagerduty}
  audit-hook:   {type: webhook, url: "https://example.com/hook", secret: "hook-secret-value"}
  terminal:     {type: console}
routes:
  - name: critical
    match: {severity: [CRITICAL]}
    notify: [oncall-mm, oncall-slack, dba-email]
  - name: warnings
    match: {severity: [WARNING], kind: [anomaly, degradation, threshold, bottleneck]}
    notify: [oncall-mm, oncall-slack]
    escalation: [{after: 10m, notify: [pager], mention: ["@dba-oncall"]}]
delivery:    {max_attempts: 5, backoff_base: 5s, backoff_max: 5m, fallback: dba-email}
permissions: {ack: ["*"], escalate: ["*"], silence: ["slack:U024BE7LH", "group:dba"],
              groups: {dba: ["mattermost:rd49ehbqyjytddasoownkuqrxe"]}}
"""

SECRETS = (
    "xoxb-secret-token",
    "mm-secret-token",
    "0123456789abcdef0123456789abcdef",
    "hook-secret-value",
)

PLATFORM_ENV = {
    "PERFBOT_SLACK__BOT_TOKEN": "xoxb-secret-token",
    "PERFBOT_MATTERMOST__URL": "http://127.0.0.1:8065",
    "PERFBOT_MATTERMOST__TOKEN": "mm-secret-token",
    "PERFBOT_EMAIL__HOST": "127.0.0.1",
    "PERFBOT_PAGERDUTY__ROUTING_KEY": "0123456789abcdef0123456789abcdef",
}


@pytest.fixture
def config(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "perfbot.yml"
        path.write_text(text)
        return path

    return write


@pytest.fixture
def platform_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in PLATFORM_ENV.items():
        monkeypatch.setenv(k, v)


def test_architecture_example_loads(config, platform_env) -> None:
    settings = Settings.load(config(FULL))
    assert [r.name for r in settings.routes] == ["critical", "warnings"]
    assert settings.routes[1].escalation[0].after.total_seconds() == 600
    assert settings.channels["dba-email"].type == "email"
    assert settings.delivery.fallback == "dba-email"
    assert settings.permissions.silence == ["slack:U024BE7LH", "group:dba"]


def test_environment_overrides_yaml(config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFBOT_DETECTION__INTERVAL", "15s")
    monkeypatch.setenv("PERFBOT_HTTP__PORT", "3111")
    settings = Settings.load(config("detection: {interval: 30s, lookback: 12h}\n"))
    assert settings.detection.interval.total_seconds() == 15
    assert settings.detection.lookback.total_seconds() == 12 * 3600
    assert settings.http.port == 3111


def test_config_path_from_environment(config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFBOT_CONFIG", str(config("detection: {interval: 30s}\n")))
    assert Settings.load().detection.interval.total_seconds() == 30


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("bogus: 1\n", "bogus: Extra inputs are not permitted"),
        ("detection: {interval: 10x}\n", "detection.interval: invalid duration '10x'"),
        (
            "detection: {z_warning: 5, z_critical: 4}\n",
            "detection: z_critical must be at least z_warning",
        ),
        ("channels: {a: {type: fax}}\n", "channels.a: Input tag 'fax'"),
        (
            "channels: {a: {type: email, to: [nobody]}}\n",
            "channels.a.to: 'nobody' is not an email address",
        ),
        ("routes: [{name: r, match: {severity: [LOUD]}}]\n", "routes[0].match.severity"),
        (
            "routes: [{name: r, match: {kind: [weird]}}]\n",
            "routes[0].match.kind: unknown kind 'weird'",
        ),
        (
            "delivery: {max_attempts: 0}\n",
            "delivery.max_attempts: Input should be greater than or equal to 1",
        ),
        ("source: {table: 'x; drop table y'}\n", "source.table"),
        ("source: {columns: {duration_ms: 'a b'}}\n", "source.columns.duration_ms"),
        (
            "routes: [{name: r, notify: [nowhere]}]\n",
            "routes[0].notify[0]: unknown channel 'nowhere'",
        ),
        ("delivery: {fallback: nowhere}\n", "delivery.fallback: unknown channel 'nowhere'"),
        (
            "channels: {s: {type: slack, channel: '#x'}}\n",
            "channels.s: a slack channel needs PERFBOT_SLACK__BOT_TOKEN",
        ),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("detection: {interval: [\n", "perfbot.yml:2"),
    ],
)
def test_problems_are_reported_with_their_yaml_path(config, yaml_text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(config(yaml_text))
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_at_once(config) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(config("bogus: 1\ndetection: {interval: 10x}\ndelivery: {max_attempts: 0}\n"))
    assert len(caught.value.problems) == 3


def test_secrets_never_appear_in_errors_or_dumps(config, platform_env, monkeypatch) -> None:
    monkeypatch.setenv("PERFBOT_HTTP__PORT", "not-a-port")
    with pytest.raises(ConfigError) as caught:
        Settings.load(config(FULL.replace("max_attempts: 5", "max_attempts: -1")))
    text = str(caught.value)
    for secret in SECRETS:
        assert secret not in text
    monkeypatch.delenv("PERFBOT_HTTP__PORT")
    dumped = str(Settings.load(config(FULL)).dump_safe())
    for secret in SECRETS:
        assert secret not in dumped


def test_pggit_preset_maps_pggit_tables() -> None:
    settings = Settings.load(source={"preset": "pggit"})
    assert settings.source.table == "pggit.performance_metrics"
    assert settings.source.merges_table == "pggit.merge_performance_metrics"
    assert settings.source.merge_columns.total == "total_merge_us"
    assert settings.source.merge_duration_unit == "us"


def test_implicit_channels_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(Settings.load().all_channels()) == {"console"}
    monkeypatch.setenv("PERFBOT_SLACK__BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("PERFBOT_SLACK__CHANNEL", "#perf")
    monkeypatch.setenv("PERFBOT_PAGERDUTY__ROUTING_KEY", "k" * 32)
    channels = Settings.load().all_channels()
    assert set(channels) == {"slack", "pagerduty"}


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://perfbot:s3cret@db:5432/pggit", "postgresql://perfbot:***@db:5432/pggit"),
        ("postgresql://perfbot@db/pggit", "postgresql://perfbot@db/pggit"),
        (
            "postgresql://postgres:@/postgres?host=/tmp/x",
            "postgresql://postgres:@/postgres?host=/tmp/x",
        ),
        (
            "host=db user=perfbot password=s3cret dbname=pggit",
            "host=db user=perfbot password=*** dbname=pggit",
        ),
    ],
)
def test_database_urls_are_shown_with_the_password_masked(url: str, masked: str) -> None:
    from bot.store.pool import mask_url

    assert mask_url(url) == masked

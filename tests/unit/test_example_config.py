"""perfbot.example.yml stays valid: it documents every option and must load."""

from pathlib import Path

import pytest

from bot.config import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "perfbot.example.yml"


def test_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFBOT_SLACK__BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("PERFBOT_MATTERMOST__URL", "http://127.0.0.1:8065")
    monkeypatch.setenv("PERFBOT_MATTERMOST__TOKEN", "t")
    monkeypatch.setenv("PERFBOT_EMAIL__HOST", "127.0.0.1")
    monkeypatch.setenv("PERFBOT_PAGERDUTY__ROUTING_KEY", "0123456789abcdef0123456789abcdef")
    settings = Settings.load(EXAMPLE)
    assert [r.name for r in settings.routes] == [
        "db-team-from-alertmanager",
        "critical",
        "warnings",
        "audit",
    ]
    assert set(settings.channels) == {
        "oncall-slack",
        "oncall-mm",
        "dba-email",
        "pager",
        "audit-hook",
        "terminal",
    }


def test_example_config_names_every_section() -> None:
    text = EXAMPLE.read_text()
    top_level = {line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()}
    documented_elsewhere = {
        "database_url",
        "data_dir",
        "config",
        "replica",
        "log_level",
        "log_format",
        "slack",
        "mattermost",
        "email",
        "pagerduty",
    }
    assert set(Settings.model_fields) - documented_elsewhere <= top_level

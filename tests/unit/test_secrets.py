"""Secrets in the configuration: a secret that is set must not be empty (named by its key and
variable), the database URL is checked when loaded and only ever shown masked, and a URL the
driver would misread is refused before a piece of its password can reach an error message."""

from pathlib import Path

import pytest

from bot.config import Settings
from bot.config.secrets import mask_url, url_problem
from bot.errors import ConfigError

EMPTY = "is set but empty: give it a value, or remove it to leave it unset"


@pytest.mark.parametrize(
    ("variable", "key"),
    [
        ("PERFBOT_SLACK__SIGNING_SECRET", "slack.signing_secret"),
        ("PERFBOT_SLACK__BOT_TOKEN", "slack.bot_token"),
        ("PERFBOT_SLACK__APP_TOKEN", "slack.app_token"),
        ("PERFBOT_MATTERMOST__TOKEN", "mattermost.token"),
        ("PERFBOT_MATTERMOST__COMMAND_TOKEN", "mattermost.command_token"),
        ("PERFBOT_MATTERMOST__ACTIONS_SECRET", "mattermost.actions_secret"),
        ("PERFBOT_PAGERDUTY__ROUTING_KEY", "pagerduty.routing_key"),
        ("PERFBOT_EMAIL__PASSWORD", "email.password"),
    ],
)
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_secret_in_the_environment_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, key: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        Settings.load()
    assert caught.value.problems == [f"{key}: {EMPTY} (from the YAML file or {variable})"]


def test_empty_secrets_in_the_yaml_file_are_errors_naming_each(tmp_path: Path) -> None:
    config = tmp_path / "perfbot.yml"
    config.write_text(
        "slack: {signing_secret: ''}\n"
        "channels:\n"
        "  hook: {type: webhook, url: 'https://example.com/hook', secret: ''}\n"
        "  pager: {type: pagerduty, routing_key: ' '}\n"
    )
    with pytest.raises(ConfigError) as caught:
        Settings.load(config)
    assert caught.value.problems == [
        f"slack.signing_secret: {EMPTY} (from the YAML file or PERFBOT_SLACK__SIGNING_SECRET)",
        f"channels.hook.secret: {EMPTY}",
        f"channels.pager.routing_key: {EMPTY}",
    ]


def test_secrets_with_a_value_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFBOT_SLACK__SIGNING_SECRET", "s3cret")
    settings = Settings.load()
    assert settings.slack.signing_secret is not None
    assert settings.slack.signing_secret.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://perfbot:s3cret@db:5432/pggit", "postgresql://perfbot:***@db:5432/pggit"),
        ("postgresql://u:pa/ss@localhost/db", "postgresql://u:***@localhost/db"),
        ("postgresql://u:p@ss@localhost/db", "postgresql://u:***@localhost/db"),
        ("postgresql://u:p@s/s?x#y@h:5/db", "postgresql://u:***@h:5/db"),
        ("postgresql://u:a:b@h/db", "postgresql://u:***@h/db"),
        ("postgresql://:onlypass@h/db", "postgresql://:***@h/db"),
        ("u:secret@db/x", "u:***@db/x"),
        ("postgresql://perfbot@db/pggit", "postgresql://perfbot@db/pggit"),
        (
            "postgresql://postgres:@/postgres?host=/tmp/x",
            "postgresql://postgres:@/postgres?host=/tmp/x",
        ),
        (
            "postgresql://h/db?password=s3cret&sslmode=require",
            "postgresql://h/db?password=***&sslmode=require",
        ),
        (
            "host=db user=perfbot password=s3cret dbname=pggit",
            "host=db user=perfbot password=*** dbname=pggit",
        ),
    ],
)
def test_database_urls_are_shown_with_the_whole_password_masked(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://perfbot:s3cret@db:5432/pggit", None),
        ("postgres://perfbot@db/pggit", None),
        ("postgresql://u:p%40ss%2F1@db/pggit", None),
        ("postgresql://u:pw@h1:5432,h2:5433/db", None),
        ("postgresql://u:pw@[::1]:5432/db", None),
        ("postgresql://postgres:@/postgres?host=/tmp/x", None),
        ("postgresql://u:pa/ss@localhost/db", "has an '@' outside the credentials"),
        ("postgresql://u:p@ss@localhost/db", "has an '@' outside the credentials"),
        ("postgresql://u:pa#ss@localhost/db", "has an '@' outside the credentials"),
        ("postgresql://u:pa?ss@localhost/db", "has an '@' outside the credentials"),
        ("postgresql://u:pw@localhost:notaport/db", "has a port that is not a number"),
        ("postgresql://u:pw@localhost:99999/db", "has a port that is not a number"),
        ("postgresql://u:12@localhost:5:6/db", "has a port that is not a number"),
        ("postgresql://u:pw@[::1/db", "cannot be read as a URL"),
        ("mysql://u:pw@h/db", "is not a postgresql://"),
        ("u:pw@h/db", "is not a postgresql://"),
    ],
)
def test_database_urls_the_driver_would_misread_are_refused(url: str, problem: str | None) -> None:
    found = url_problem(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem)
        assert url not in found
        assert "u:" not in found


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://u:pa/ss@localhost/db", "postgresql://u:***@localhost/db has an '@' outside"),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db has an '@' outside"),
        ("", "is set but empty: remove it for the embedded PostgreSQL, or give it a value"),
    ],
)
def test_the_database_url_is_checked_when_loaded(
    monkeypatch: pytest.MonkeyPatch, url: str, problem: str
) -> None:
    monkeypatch.setenv("PERFBOT_DATABASE_URL", url)
    with pytest.raises(ConfigError) as caught:
        Settings.load()
    [line] = caught.value.problems
    assert line.startswith(f"database_url: {problem}")
    assert "pa/ss" not in line
    assert "p@ss" not in line

"""The console notifier, the notifier factory and the latency chart."""

import re
from datetime import timedelta
from typing import Any

import pytest
from rich.console import Console

from bot import charts
from bot.charts import ChartError, latency_png
from bot.config import Settings
from bot.config.checks import platform_gap
from bot.errors import ConfigError
from bot.notify import LatencySeries
from bot.notify.console import ConsoleNotifier
from bot.notify.email import EmailNotifier
from bot.notify.mattermost import MattermostNotifier
from bot.notify.pagerduty import PagerDutyNotifier
from bot.notify.registry import build_notifier, build_notifiers, close_all
from bot.notify.slack import SlackNotifier
from bot.notify.webhook import WebhookNotifier
from tests.unit.notify.factories import T0, make_notification, make_series


async def test_console_notifier_prints_to_the_injected_console():
    console = Console(record=True, width=100, force_terminal=False)
    notifier = ConsoleNotifier("terminal", console)
    assert await notifier.send(make_notification()) is None
    out = console.export_text()
    assert "#42 CRITICAL commit latency anomaly" in out
    assert "Occurrences" in out


def _settings(**overrides: Any) -> Settings:
    return Settings.model_validate(
        {
            "slack": {"bot_token": "xoxb-1", "api_url": "http://127.0.0.1:1/api/"},
            "mattermost": {
                "url": "http://127.0.0.1:2",
                "token": "mm",
                "actions_url": "http://x/mattermost/actions",
            },
            "email": {"host": "127.0.0.1", "port": 2525},
            "pagerduty": {"routing_key": "k" * 32, "events_url": "http://127.0.0.1:3/v2/enqueue"},
            "channels": {
                "oncall-slack": {"type": "slack", "channel": "#perf-alerts"},
                "oncall-mm": {"type": "mattermost", "channel_id": "c" * 26},
                "dba-email": {"type": "email", "to": ["dba@example.com"]},
                "pager": {"type": "pagerduty"},
                "audit-hook": {"type": "webhook", "url": "http://127.0.0.1:4/hook", "secret": "s"},
                "terminal": {"type": "console"},
            },
            **overrides,
        }
    )


async def test_build_notifiers_makes_one_per_channel():
    notifiers = build_notifiers(_settings(), timeout=1.0)
    assert {name: type(n) for name, n in notifiers.items()} == {
        "oncall-slack": SlackNotifier,
        "oncall-mm": MattermostNotifier,
        "dba-email": EmailNotifier,
        "pager": PagerDutyNotifier,
        "audit-hook": WebhookNotifier,
        "terminal": ConsoleNotifier,
    }
    assert all(name == n.channel for name, n in notifiers.items())
    await close_all(notifiers)


def test_build_notifiers_defaults_to_the_console():
    notifiers = build_notifiers(Settings.model_validate({}))
    assert list(notifiers) == ["console"]


def test_build_notifiers_reports_missing_platform_settings():
    settings = Settings.model_validate(
        {"channels": {"a": {"type": "slack", "channel": "#x"}, "b": {"type": "pagerduty"}}}
    )
    with pytest.raises(ConfigError) as caught:
        build_notifiers(settings)
    assert caught.value.problems == [
        "channels.a: a slack channel needs PERFBOT_SLACK__BOT_TOKEN",
        "channels.b: a pagerduty channel needs a routing_key or PERFBOT_PAGERDUTY__ROUTING_KEY",
    ]


@pytest.mark.parametrize(
    ("platforms", "channel", "refusal"),
    [
        ({}, {"type": "slack", "channel": "#x"}, "a slack channel needs PERFBOT_SLACK__BOT_TOKEN"),
        ({"slack": {"bot_token": "xoxb-1"}}, {"type": "slack", "channel": "#x"}, None),
        (
            {"mattermost": {"url": "http://127.0.0.1:2"}},
            {"type": "mattermost", "channel_id": "c"},
            "a mattermost channel needs PERFBOT_MATTERMOST__URL and PERFBOT_MATTERMOST__TOKEN",
        ),
        (
            {"mattermost": {"url": "http://127.0.0.1:2", "token": "mm"}},
            {"type": "mattermost", "channel_id": "c"},
            None,
        ),
        (
            {},
            {"type": "email", "to": ["a@example.com"]},
            "an email channel needs PERFBOT_EMAIL__HOST",
        ),
        ({"email": {"host": "127.0.0.1"}}, {"type": "email", "to": ["a@example.com"]}, None),
        (
            {},
            {"type": "pagerduty"},
            "a pagerduty channel needs a routing_key or PERFBOT_PAGERDUTY__ROUTING_KEY",
        ),
        ({}, {"type": "pagerduty", "routing_key": "k"}, None),
        ({"pagerduty": {"routing_key": "k"}}, {"type": "pagerduty"}, None),
        ({}, {"type": "webhook", "url": "https://example.com/hook"}, None),
        ({}, {"type": "console"}, None),
    ],
)
def test_build_notifier_refuses_a_channel_exactly_when_the_config_check_does(
    platforms: dict[str, Any], channel: dict[str, Any], refusal: str | None
) -> None:
    settings = Settings.model_validate({**platforms, "channels": {"c": channel}})
    config = settings.channels["c"]
    assert platform_gap(config, settings.platforms) == refusal
    if refusal is None:
        assert build_notifier("c", config, settings, timeout=1.0).channel == "c"
    else:
        with pytest.raises(ValueError, match=re.escape(refusal)):
            build_notifier("c", config, settings, timeout=1.0)


def test_chart_is_a_png():
    png = latency_png(make_series())
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 5000


def test_chart_of_a_single_point_without_baseline():
    series = LatencySeries("merge", (T0,), (10.0,), (), (30.0,))
    assert latency_png(series).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "series",
    [
        LatencySeries("commit", (), (), (), ()),
        LatencySeries("commit", (T0, T0 + timedelta(minutes=1)), (1.0,), (), ()),
    ],
)
def test_chart_refuses_bad_series(series):
    with pytest.raises(ChartError):
        latency_png(series)


@pytest.mark.parametrize("name", ["$_$", "$^^$", "op$\\frac{$x", "$a$", "\\$"])
@pytest.mark.parametrize("titled", [False, True], ids=["default title", "trends title"])
def test_chart_titles_are_never_math_text(name: str, titled: bool):
    series = LatencySeries(
        operation_type=name,
        timestamps=(T0, T0 + timedelta(minutes=1)),
        p50_ms=(1.0, 2.0),
        p95_ms=(2.0, 3.0),
        p99_ms=(3.0, 4.0),
    )
    title = f"{name}: last 7d (UTC)" if titled else None
    assert latency_png(series, title=title).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(hours=1), ("%H:%M", None)),
        (timedelta(hours=24), ("%m-%d %H:%M", None)),
        (timedelta(days=2), ("%a %m-%d", 1)),
        (timedelta(days=7), ("%a %m-%d", 1)),
        (timedelta(days=30), ("%a %m-%d", 4)),
    ],
)
def test_chart_ticks_carry_dates_beyond_half_a_day(span, expected):
    assert charts.ticks(span) == expected


def test_a_seven_day_chart_draws():
    times = [T0 + timedelta(hours=h) for h in range(7 * 24)]
    series = LatencySeries("commit", tuple(times), (1.0,) * len(times), (), (2.0,) * len(times))
    assert charts.latency_png(series).startswith(b"\x89PNG")

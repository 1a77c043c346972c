"""`bot.notify.rendering` and the notifiers: a renderer that raises is a `RenderError` (one
line, bounded, control characters escaped) raised before any call to the destination."""

from collections.abc import Callable
from typing import Any

import pytest

from bot.errors import NotifyError, RenderError
from bot.notify import (
    console_render,
    email_render,
    mattermost_render,
    pagerduty_render,
    rendering,
    slack_render,
    webhook_render,
)
from bot.notify.console import ConsoleNotifier
from bot.notify.pagerduty import PagerDutyNotifier
from bot.notify.webhook import WebhookNotifier
from tests.fakes.mattermost import MattermostFake
from tests.fakes.slack import SlackFake
from tests.fakes.smtp import SmtpServer
from tests.unit.notify import test_email, test_mattermost, test_slack
from tests.unit.notify.factories import make_notification


def boom(*_: Any, **__: Any) -> Any:
    raise ValueError("Header values may not contain linefeed\n\x1b[31m" + "x" * 500)


def test_rendering_turns_any_exception_into_one_bounded_line() -> None:
    with pytest.raises(RenderError) as caught, rendering("email"):
        boom()
    error = caught.value
    assert error.channel == "email"
    assert error.reason.startswith("ValueError: Header values may not contain linefeed \\x1b[31m")
    assert len(error.reason) <= 200
    assert "\n" not in error.reason
    assert isinstance(error.__cause__, ValueError)
    assert not isinstance(error, NotifyError)  # the destination is not at fault


def test_rendering_lets_a_clean_render_through() -> None:
    with rendering("slack"):
        value = 1
    assert value == 1


async def test_slack_calls_nothing(slack_fake: SlackFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_render, "render", boom)
    with pytest.raises(RenderError):
        await test_slack.notifier(slack_fake).send(make_notification())
    assert slack_fake.calls_to("chat.postMessage") == []


async def test_mattermost_calls_nothing(
    mattermost_fake: MattermostFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mattermost_render, "thread_reply", boom)
    with pytest.raises(RenderError):
        await test_mattermost.notifier(mattermost_fake).send(make_notification())
    assert mattermost_fake.calls == []  # not even the login


async def test_email_sends_nothing(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(email_render, "subject", lambda n: f"{n.alert.title}\nBcc: x@evil.example")
    with pytest.raises(RenderError) as caught:
        await test_email.notifier(smtp_server).send(make_notification())
    assert "linefeed" in caught.value.reason
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("module", "name", "make"),
    [
        (
            pagerduty_render,
            "render",
            lambda: PagerDutyNotifier(
                "pd", routing_key="k" * 32, events_url="http://127.0.0.1:9/", timeout=1.0
            ),
        ),
        (
            webhook_render,
            "body",
            lambda: WebhookNotifier("hook", url="http://127.0.0.1:9/", secret=None, timeout=1.0),
        ),
        (console_render, "render", lambda: ConsoleNotifier("terminal")),
    ],
)
async def test_other_channels(
    module: Any, name: str, make: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, name, boom)
    with pytest.raises(RenderError):
        await make().send(make_notification())

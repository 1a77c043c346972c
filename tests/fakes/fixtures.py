"""Pytest fixtures for the stand-ins (loaded through `pytest_plugins` in tests/conftest.py).

Every HTTP stand-in is started fresh per test in the test's event loop and depends on
`no_proxy`: slack-sdk sends even 127.0.0.1 through `HTTP(S)_PROXY` (it ignores `NO_PROXY`).
For a test that runs `perfbot run` as a subprocess, `perfbot_env(...)` gives the environment
that points it at the stand-ins."""

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import mattermost, pagerduty, slack
from tests.fakes.mattermost import MattermostFake
from tests.fakes.pagerduty import PagerDutyFake
from tests.fakes.slack import SlackFake
from tests.fakes.smtp import SmtpServer, TlsFiles, self_signed_cert
from tests.fakes.webhook import WebhookReceiver

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every proxy variable for the test."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def slack_fake(no_proxy: None) -> AsyncIterator[SlackFake]:
    async with SlackFake() as fake:
        yield fake


@pytest.fixture
async def mattermost_fake(no_proxy: None) -> AsyncIterator[MattermostFake]:
    async with MattermostFake() as fake:
        yield fake


@pytest.fixture
async def pagerduty_fake(no_proxy: None) -> AsyncIterator[PagerDutyFake]:
    async with PagerDutyFake() as fake:
        yield fake


@pytest.fixture
async def webhook_receiver(no_proxy: None) -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as fake:
        yield fake


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server without AUTH or TLS."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def make_smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """`make_smtp_server(auth=(...), tls=..., refuse=..., data_reply=...)`: started, and stopped
    after the test."""
    started: list[SmtpServer] = []

    def make(**kwargs: Any) -> SmtpServer:
        server = SmtpServer(**kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1; skips the test where `openssl` is missing."""
    files = self_signed_cert(Path(tmp_path_factory.mktemp("tls")))
    if files is None:
        pytest.skip("openssl is not installed: no certificate for the STARTTLS test")
    return files


def perfbot_env(
    *,
    slack_fake: SlackFake | None = None,
    mattermost_fake: MattermostFake | None = None,
    pagerduty_fake: PagerDutyFake | None = None,
    smtp: SmtpServer | None = None,
    actions_url: str | None = None,
) -> dict[str, str]:
    """`PERFBOT_*` variables that point a `perfbot run` subprocess at the given stand-ins, with
    their tokens (merge into a copy of os.environ without proxy variables)."""
    env: dict[str, str] = {}
    if slack_fake is not None:
        env |= {
            "PERFBOT_SLACK__API_URL": slack_fake.api_url,
            "PERFBOT_SLACK__BOT_TOKEN": slack_fake.token,
            "PERFBOT_SLACK__CHANNEL": slack.CHANNEL_ID,
        }
    if mattermost_fake is not None:
        env |= {
            "PERFBOT_MATTERMOST__URL": mattermost_fake.url,
            "PERFBOT_MATTERMOST__TOKEN": mattermost_fake.token,
            "PERFBOT_MATTERMOST__CHANNEL_ID": mattermost.CHANNEL_ID,
        }
        if actions_url is not None:
            env["PERFBOT_MATTERMOST__ACTIONS_URL"] = actions_url
    if pagerduty_fake is not None:
        env |= {
            "PERFBOT_PAGERDUTY__EVENTS_URL": pagerduty_fake.events_url,
            "PERFBOT_PAGERDUTY__ROUTING_KEY": pagerduty.ROUTING_KEY,
        }
    if smtp is not None:
        env |= {
            "PERFBOT_EMAIL__HOST": smtp.host,
            "PERFBOT_EMAIL__PORT": str(smtp.port),
            "PERFBOT_EMAIL__FROM": "perfbot@perfbot.test",
            "PERFBOT_EMAIL__TO": '["oncall@perfbot.test"]',
        }
    return env

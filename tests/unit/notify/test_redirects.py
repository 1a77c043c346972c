"""No outbound poster follows a redirect: each stand-in answers 3xx pointing at an "internal"
service on loopback, and the internal service must never see a request. The attempt fails
permanently, naming only the redirect's host."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from bot.errors import NotifyError
from bot.notify import Notifier
from bot.notify.mattermost import MattermostNotifier
from bot.notify.mattermost_sign import Signer
from bot.notify.pagerduty import PagerDutyNotifier
from bot.notify.slack import SlackNotifier
from bot.notify.webhook import WebhookNotifier
from tests.fakes.mattermost import CHANNEL_ID, MattermostFake
from tests.fakes.pagerduty import ROUTING_KEY, PagerDutyFake
from tests.fakes.server import FakeServer
from tests.fakes.slack import SlackFake
from tests.fakes.webhook import WebhookReceiver
from tests.unit.notify.factories import make_notification


def _slack(fake: FakeServer) -> Notifier:
    assert isinstance(fake, SlackFake)
    return SlackNotifier("s", "#perf-alerts", token=fake.token, api_url=fake.api_url, timeout=2)


def _mattermost(fake: FakeServer) -> Notifier:
    assert isinstance(fake, MattermostFake)
    return MattermostNotifier(
        "m",
        CHANNEL_ID,
        url=fake.url,
        token=fake.token,
        actions_url=None,
        signer=Signer("actions-secret", 3600),
        timeout=2,
    )


def _pagerduty(fake: FakeServer) -> Notifier:
    assert isinstance(fake, PagerDutyFake)
    return PagerDutyNotifier("p", routing_key=ROUTING_KEY, events_url=fake.events_url, timeout=2)


def _webhook(fake: FakeServer) -> Notifier:
    assert isinstance(fake, WebhookReceiver)
    return WebhookNotifier("w", url=fake.hook_url, secret="hook-secret", timeout=2)


POSTERS: dict[str, tuple[Callable[[], FakeServer], Callable[[FakeServer], Notifier], str]] = {
    "slack": (SlackFake, _slack, "/api/"),
    "mattermost": (MattermostFake, _mattermost, "/"),
    "pagerduty": (PagerDutyFake, _pagerduty, "/"),
    "webhook": (WebhookReceiver, _webhook, "/"),
}


@asynccontextmanager
async def started(kind: str) -> AsyncIterator[tuple[FakeServer, Notifier]]:
    make_fake, make_notifier, _ = POSTERS[kind]
    async with make_fake() as fake:
        notifier = make_notifier(fake)
        try:
            yield fake, notifier
        finally:
            await notifier.aclose()


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("kind", sorted(POSTERS))
async def test_a_redirect_to_an_internal_address_is_a_failed_attempt(no_proxy, kind, status):
    async with WebhookReceiver() as internal, started(kind) as (fake, notifier):
        fake.fail(
            status,
            times=5,
            headers={"Location": f"{internal.url}/admin/drop-everything"},
            body="moved",
            path_prefix=POSTERS[kind][2],
        )
        with pytest.raises(NotifyError) as caught:
            await notifier.send(make_notification(extra={"delivery_id": 3}))
        assert internal.calls == []
    error = caught.value
    assert (error.status, error.permanent) == (status, True)
    assert error.reason.endswith(
        f"HTTP {status}: redirect to 127.0.0.1:{internal.port} not followed "
        "(perfbot never follows redirects: configure the final URL)"
    )
    assert "/admin" not in error.reason

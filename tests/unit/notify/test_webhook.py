"""WebhookNotifier against a receiver on loopback."""

import hashlib
import hmac
import json

import pytest

from bot.errors import NotifyError
from bot.notify.webhook import WebhookNotifier
from bot.notify.webhook_render import verify
from tests.fakes.webhook import WebhookReceiver
from tests.unit.notify.factories import make_notification


def notifier(
    receiver: WebhookReceiver, secret: str | None = "hook-secret", timeout: float = 2.0
) -> WebhookNotifier:
    return WebhookNotifier("audit-hook", url=receiver.hook_url, secret=secret, timeout=timeout)


async def test_posts_signed_json(webhook_receiver):
    hook = notifier(webhook_receiver)
    assert await hook.send(make_notification(extra={"delivery_id": 9})) is None
    await hook.aclose()
    (call,) = webhook_receiver.calls
    assert call.path == "/hook"
    expected = "sha256=" + hmac.new(b"hook-secret", call.body, hashlib.sha256).hexdigest()
    assert call.headers["X-Perfbot-Signature"] == expected
    assert verify("hook-secret", call.body, call.headers["X-Perfbot-Signature"])
    assert call.headers["X-Perfbot-Event"] == "fired"
    assert call.headers["X-Perfbot-Delivery"] == "9"
    assert call.headers["Content-Type"] == "application/json"
    assert json.loads(call.body)["alert"]["id"] == 42


async def test_no_secret_no_signature(webhook_receiver):
    hook = notifier(webhook_receiver, secret=None)
    await hook.send(make_notification())
    await hook.aclose()
    assert "X-Perfbot-Signature" not in webhook_receiver.calls[0].headers


@pytest.mark.parametrize(
    ("status", "permanent", "retry_after"),
    [
        (429, False, 12.0),
        (500, False, None),
        (503, False, None),
        (400, True, None),
        (404, True, None),
        (410, True, None),
    ],
)
async def test_status_mapping(webhook_receiver, status, permanent, retry_after):
    webhook_receiver.fail(status, retry_after=retry_after)
    hook = notifier(webhook_receiver)
    with pytest.raises(NotifyError) as caught:
        await hook.send(make_notification())
    await hook.aclose()
    assert (caught.value.status, caught.value.permanent, caught.value.retry_after) == (
        status,
        permanent,
        retry_after,
    )


async def test_retry_after_as_http_date(webhook_receiver):
    webhook_receiver.fail(
        429,
        headers={
            "Retry-After": "Fri, 27 Nov 2026 06:01:00 GMT",
            "Date": "Fri, 27 Nov 2026 06:00:30 GMT",
        },
    )
    hook = notifier(webhook_receiver)
    with pytest.raises(NotifyError) as caught:
        await hook.send(make_notification())
    await hook.aclose()
    assert caught.value.retry_after == 30.0


async def test_hang_times_out(webhook_receiver):
    webhook_receiver.hang()
    hook = notifier(webhook_receiver, timeout=0.3)
    with pytest.raises(NotifyError) as caught:
        await hook.send(make_notification())
    await hook.aclose()
    assert not caught.value.permanent

"""WebhookNotifier against a receiver on loopback: the signed request as the README's verify
recipe checks it (replays and stale timestamps refused), the status mapping, and redirects,
which are never followed."""

import hashlib
import hmac
import json

import pytest

from bot.errors import NotifyError
from bot.notify.webhook import WebhookNotifier
from tests.fakes.server import Call
from tests.fakes.webhook import WebhookReceiver, readme_recipe
from tests.unit.notify.factories import make_notification

SENT_AT = 1_800_000_000  # the signature's timestamp (Unix seconds), fixed: no wall clock


def notifier(
    receiver: WebhookReceiver, secret: str | None = "hook-secret", timeout: float = 2.0
) -> WebhookNotifier:
    return WebhookNotifier(
        "audit-hook", url=receiver.hook_url, secret=secret, timeout=timeout, wall=lambda: SENT_AT
    )


async def test_posts_signed_json(webhook_receiver):
    hook = notifier(webhook_receiver)
    assert await hook.send(make_notification(extra={"delivery_id": 9})) is None
    await hook.aclose()
    (call,) = webhook_receiver.calls
    assert call.path == "/hook"
    signed = f"{SENT_AT}.9.".encode() + call.body
    digest = hmac.new(b"hook-secret", signed, hashlib.sha256).hexdigest()
    assert call.headers["X-Perfbot-Signature"] == f"t={SENT_AT},v1={digest}"
    assert call.headers["X-Perfbot-Event"] == "fired"
    assert call.headers["X-Perfbot-Delivery"] == "9"
    assert call.headers["Content-Type"] == "application/json"
    body = json.loads(call.body)
    assert body["delivery_id"] == "9"
    assert body["alert"]["id"] == 42


def _forged(call: Call, *, headers: dict[str, str] | None = None, body: bytes | None = None):
    return {**call.headers, **(headers or {})}, call.body if body is None else body


async def test_the_readme_recipe_accepts_what_perfbot_sends_once(webhook_receiver):
    perfbot_delivery, _ = readme_recipe()
    hook = notifier(webhook_receiver)
    await hook.send(make_notification(extra={"delivery_id": 9}))
    await hook.send(make_notification(extra={"delivery_id": 9}))  # a retry of delivery 9
    await hook.aclose()
    first, retry = webhook_receiver.calls
    seen: set[str] = set()
    assert perfbot_delivery("hook-secret", first.headers, first.body, seen, now=SENT_AT) == "9"
    # the retry (or a replay inside the 5 minutes) verifies, and is recognised as handled
    assert perfbot_delivery("hook-secret", retry.headers, retry.body, seen, now=SENT_AT) is None
    assert (
        perfbot_delivery("hook-secret", first.headers, first.body, seen, now=SENT_AT + 299) is None
    )
    assert seen == {"9"}


@pytest.mark.parametrize(
    ("case", "now", "headers", "body"),
    [
        ("replayed 5 minutes later", SENT_AT + 301, None, None),
        ("timestamp in the future", SENT_AT - 301, None, None),
        ("body altered", SENT_AT, None, b'{"event":"resolved"}'),
        ("delivery id swapped", SENT_AT, {"X-Perfbot-Delivery": "10"}, None),
        ("timestamp moved", SENT_AT + 60, {"X-Perfbot-Signature": "t={t},v1={v1}"}, None),
        ("no signature", SENT_AT, {"X-Perfbot-Signature": ""}, None),
        ("old body-only format", SENT_AT, {"X-Perfbot-Signature": "sha256={v1}"}, None),
        ("non-ASCII signature", SENT_AT, {"X-Perfbot-Signature": "t={t},v1=é"}, None),
    ],
)
async def test_the_readme_recipe_rejects(webhook_receiver, case, now, headers, body):
    perfbot_delivery, rejected = readme_recipe()
    hook = notifier(webhook_receiver)
    await hook.send(make_notification(extra={"delivery_id": 9}))
    await hook.aclose()
    (call,) = webhook_receiver.calls
    fields = dict(p.split("=", 1) for p in call.headers["X-Perfbot-Signature"].split(","))
    moved = {"t": str(SENT_AT + 60), "v1": fields["v1"]}
    forged = {k: v.format(**moved) for k, v in (headers or {}).items()}
    seen: set[str] = set()
    with pytest.raises(rejected):
        perfbot_delivery("hook-secret", *_forged(call, headers=forged, body=body), seen, now=now)
    assert seen == set(), case


async def test_the_readme_recipe_rejects_another_secret(webhook_receiver):
    perfbot_delivery, rejected = readme_recipe()
    hook = notifier(webhook_receiver, secret="another-secret")
    await hook.send(make_notification(extra={"delivery_id": 9}))
    await hook.aclose()
    (call,) = webhook_receiver.calls
    with pytest.raises(rejected):
        perfbot_delivery("hook-secret", call.headers, call.body, set(), now=SENT_AT)


async def test_a_send_outside_the_outbox_gets_a_delivery_id_of_its_own(webhook_receiver):
    hook = notifier(webhook_receiver)
    await hook.send(make_notification())
    await hook.send(make_notification())
    await hook.aclose()
    ids = [c.headers["X-Perfbot-Delivery"] for c in webhook_receiver.calls]
    assert ids[0] != ids[1]
    assert [json.loads(c.body)["delivery_id"] for c in webhook_receiver.calls] == ids


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


@pytest.mark.parametrize(
    ("header", "expected"),
    [("inf", None), ("nan", None), ("-1", None), ("1e9", None), ("1000000000", 1e9)],
)
async def test_retry_after_is_read_by_the_one_parser(webhook_receiver, header, expected):
    """What the notifier reports is finite and non-negative (the policy caps it)."""
    webhook_receiver.fail(429, headers={"Retry-After": header})
    hook = notifier(webhook_receiver)
    with pytest.raises(NotifyError) as caught:
        await hook.send(make_notification())
    await hook.aclose()
    assert caught.value.retry_after == expected


async def test_hang_times_out(webhook_receiver):
    webhook_receiver.hang()
    hook = notifier(webhook_receiver, timeout=0.3)
    with pytest.raises(NotifyError) as caught:
        await hook.send(make_notification())
    await hook.aclose()
    assert not caught.value.permanent


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_to_an_internal_address_is_not_followed(webhook_receiver, status):
    async with WebhookReceiver() as internal:
        webhook_receiver.fail(status, headers={"Location": f"{internal.url}/admin/delete?all=1"})
        hook = notifier(webhook_receiver)
        with pytest.raises(NotifyError) as caught:
            await hook.send(make_notification(extra={"delivery_id": 9}))
        await hook.aclose()
        assert internal.calls == []
    error = caught.value
    assert (error.status, error.permanent) == (status, True)
    assert error.reason == (
        f"HTTP {status}: redirect to 127.0.0.1:{internal.port} not followed "
        "(perfbot never follows redirects: configure the final URL)"
    )


async def test_a_hostile_error_body_is_kept_as_a_short_clean_excerpt(webhook_receiver):
    forged = "oops\n2026-11-27T06:00:00.000Z ERROR   bot.delivery: all good \x1b[2J\r" + "A" * 9000
    webhook_receiver.fail(500, body=forged)
    hook = notifier(webhook_receiver)
    with pytest.raises(NotifyError) as caught:
        await hook.send(make_notification())
    await hook.aclose()
    reason = caught.value.reason
    assert reason.startswith(
        "HTTP 500: oops 2026-11-27T06:00:00.000Z ERROR bot.delivery: all good [2J A"
    )
    assert len(reason) == len("HTTP 500: ") + 200
    assert reason.endswith("…")
    assert reason.isprintable()

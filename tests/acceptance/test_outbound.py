"""Hostile webhook receivers against a real `perfbot run`: one answers every POST with a redirect
to an "internal" service, the other with a 500 whose body forges a log line and drives the
terminal. The redirect is never followed (the internal service sees nothing) and its delivery
is dead with a reason naming only the host; the hostile body reaches `deliveries.last_error`
and perfbot's log only as a short excerpt without control characters, and forges no line."""

import re
from datetime import UTC, datetime
from pathlib import Path

from bot.models import DeliveryStatus, Severity
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.factories import make_new_alert
from tests.fakes.webhook import WebhookReceiver
from tests.polling import eventually

FORGED_AT = "2026-11-27T06:00:00.000Z"
FORGED = (
    f"oops\n{FORGED_AT} INFO    bot.delivery: delivered [action=delivery_sent]\r\n"
    "\x1b[2J\x1b]0;owned\x07" + "A" * 50_000
)
RECORD = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


async def test_redirects_are_not_followed_and_answers_are_kept_as_clean_excerpts(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    async with (
        WebhookReceiver() as internal,
        WebhookReceiver() as redirecting,
        WebhookReceiver() as hostile,
    ):
        redirecting.fail(302, times=100, headers={"Location": f"{internal.url}/admin/wipe"})
        hostile.fail(500, times=100, body=FORGED)
        config = {
            "channels": {
                "moved": {"type": "webhook", "url": redirecting.hook_url, "secret": "s1"},
                "broken": {"type": "webhook", "url": hostile.hook_url, "secret": "s2"},
            },
            "delivery": {
                "max_attempts": 2,
                "backoff_base": "100ms",
                "backoff_max": "200ms",
                "rate_limits": {},
                "breaker_failures": 50,
            },
        }
        now = datetime.now(UTC)
        async with store.alerts.transaction() as tx:
            alert = await tx.insert_alert(
                make_new_alert(
                    fingerprint="anomaly:commit",
                    severity=Severity.WARNING,
                    first_seen=now,
                    last_seen=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            for channel in ("moved", "broken"):
                await tx.enqueue(
                    alert.id, channel, "fired", Severity.WARNING, now=now, max_attempts=2
                )
        async with PerfbotProcess(db_url, tmp_path, config) as bot:

            async def both_dead() -> bool:
                found = await store.deliveries.for_alert(alert.id)
                return len(found) == 2 and all(d.status is DeliveryStatus.DEAD for d in found)

            await eventually(both_dead, within=30)
        assert internal.calls == []
        assert len(redirecting.faulted) == 1  # permanent: not retried either
    by_channel = {d.channel: d for d in await store.deliveries.for_alert(alert.id)}
    moved, broken = by_channel["moved"], by_channel["broken"]
    assert moved.last_status == 302
    assert moved.last_error is not None
    assert f"redirect to 127.0.0.1:{internal.port} not followed" in moved.last_error
    assert "/admin" not in moved.last_error
    assert broken.last_error is not None
    assert broken.last_error.isprintable()
    assert f"HTTP 500: oops {FORGED_AT} INFO bot.delivery: delivered" in broken.last_error
    assert len(broken.last_error) < 260
    log = bot.output()
    assert "\x1b" not in log
    assert "\r" not in log
    assert "A" * 250 not in log
    lines = log.splitlines()
    assert not [line for line in lines if line.startswith(FORGED_AT)], log[-3000:]
    # every line is a record of its own, or an indented traceback line
    assert all(RECORD.match(line) or line.startswith(" ") for line in lines if line), log[-3000:]

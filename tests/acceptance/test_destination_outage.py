"""Slack down for longer than the backoff horizon, then back: every message is delivered, in
order per alert; CRITICALs also reached the fallback (email) while Slack was down. A 429 storm
is absorbed by the rate limiter: delayed, never dropped."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bot.models import Severity
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.factories import make_new_alert
from tests.fakes.fixtures import perfbot_env
from tests.fakes.slack import SlackFake
from tests.fakes.smtp import SmtpServer
from tests.polling import eventually

BREAKER_FAILURES = 3
FAST_DELIVERY = {
    "max_attempts": 3,
    "backoff_base": "200ms",
    "backoff_max": "1s",  # the backoff horizon: three attempts within about two seconds
    "breaker_failures": BREAKER_FAILURES,
    "breaker_cooldown": "1s",
    "fallback": "email",
    "rate_limits": {"slack": 20},
}


async def queue(store: Store, alerts: int, severity: Severity) -> list[int]:
    """`alerts` open alerts seen just now (inside the auto-resolve window, so the running bot's
    escalate tick leaves them open), each with fired, updated and acknowledged queued for Slack."""
    ids = []
    now = datetime.now(UTC)
    async with store.alerts.transaction() as tx:
        for i in range(alerts):
            alert = await tx.insert_alert(
                make_new_alert(
                    fingerprint=f"anomaly:{severity}{i}",
                    operation_types=(f"op{i}",),
                    severity=severity,
                    first_seen=now,
                    last_seen=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            ids.append(alert.id)
            for event in ("fired", "updated", "acknowledged"):
                await tx.enqueue(alert.id, "slack", event, severity, now=now, max_attempts=3)
    return ids


async def health(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz") as resp:
        body: dict[str, Any] = await resp.json()
    return body


async def test_slack_outage_then_recovery(
    store: Store, db_url: str, slack_fake: SlackFake, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await slack_fake.down()
    critical = await queue(store, 3, Severity.CRITICAL)
    warning = await queue(store, 3, Severity.WARNING)
    env = perfbot_env(slack_fake=slack_fake, smtp=smtp_server)
    async with PerfbotProcess(db_url, tmp_path, {"delivery": FAST_DELIVERY}, env) as bot:

        async def fallback_reached() -> bool:
            return len(smtp_server.received) >= len(critical)

        async def outlasted_the_backoff_horizon() -> bool:
            # Slack's circuit opened and then three probes, a cooldown (1 s) apart, failed: the
            # outage lasted past the backoff horizon (three attempts within about 2 s), so any
            # delivery retried rather than deferred would have used up its attempts by now
            circuit = (await health(bot.url))["checks"]["channels"]["circuits"].get("slack", {})
            return int(circuit.get("failures", 0)) >= BREAKER_FAILURES + 3

        await eventually(fallback_reached, within=30)
        await eventually(outlasted_the_backoff_horizon, within=30, every=0.1)
        await slack_fake.up()

        async def all_sent() -> bool:
            stats = await store.deliveries.stats(datetime.now(UTC))
            return stats.pending == 0 and stats.sending == 0

        await eventually(all_sent, within=60)
    deliveries = [d for a in critical + warning for d in await store.deliveries.for_alert(a)]
    assert all(d.status == "sent" for d in deliveries), [
        (d.channel, d.status, d.last_error) for d in deliveries if d.status != "sent"
    ]
    posted = slack_fake.calls_to("chat.postMessage")
    assert len(posted) == len(critical) + len(warning)  # one message per alert, then edits
    # the `updated` event shows nothing new (the alert row did not change): it is marked sent
    # without an edit; `acknowledged` changes the card and edits it
    assert len(slack_fake.calls_to("chat.update")) == len(critical) + len(warning)
    subjects = [m.message["Subject"] for m in smtp_server.received]
    assert len(subjects) >= len(critical)
    assert all("[CRITICAL]" in s for s in subjects), subjects
    for alert_id in critical + warning:
        rows = [d for d in deliveries if d.alert_id == alert_id and d.channel == "slack"]
        sent_order = [
            d.event
            for d in sorted(rows, key=lambda d: d.sent_at or datetime.max.replace(tzinfo=UTC))
        ]
        assert sent_order == ["fired", "updated", "acknowledged"]


async def test_429_storm_is_absorbed(
    store: Store, db_url: str, slack_fake: SlackFake, tmp_path: Path
) -> None:
    slack_fake.fail(429, times=15, retry_after=1)
    alerts = await queue(store, 5, Severity.WARNING)
    env = perfbot_env(slack_fake=slack_fake)
    async with PerfbotProcess(
        db_url, tmp_path, {"delivery": FAST_DELIVERY | {"fallback": None}}, env
    ):

        async def all_sent() -> bool:
            stats = await store.deliveries.stats(datetime.now(UTC))
            return stats.pending == 0 and stats.sending == 0

        await eventually(all_sent, within=60)
    deliveries = [d for a in alerts for d in await store.deliveries.for_alert(a)]
    assert all(d.status == "sent" for d in deliveries)
    assert len(slack_fake.faulted) == 15
    assert len(slack_fake.calls_to("chat.postMessage")) == 5

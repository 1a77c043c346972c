"""The whole alert path in a real `perfbot run`: metrics with an injected spike → detection →
one alert → a webhook `fired` event per fingerprint, signed as the README's recipe verifies;
an acknowledgement → one `acknowledged` event, and no escalation afterwards."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts import AlertService
from bot.clock import SystemClock
from bot.config import Settings
from bot.models import ActorSource, AlertStatus, Metric
from bot.routing.transition import Actor
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.factories import latency_history
from tests.fakes.webhook import WebhookReceiver, readme_recipe
from tests.polling import eventually

SECRET = "hook-secret"


def metrics(
    op: str, start: datetime, end: datetime, median_ms: float, spike_from: datetime, seed: int
) -> list[Metric]:
    """`op`'s latency from `start`, eight times slower from `spike_from`."""
    return latency_history(
        op,
        start,
        end,
        median_ms=median_ms,
        seed=seed,
        factor=lambda t: 8.0 if t >= spike_from else 1.0,
    )


def events(receiver: WebhookReceiver, path: str) -> list[tuple[str, dict]]:
    return [(c.json()["event"], c.json()["alert"]) for c in receiver.calls if c.path == path]


async def test_spike_fires_once_and_ack_stops_escalation(
    store: Store, db_url: str, webhook_receiver: WebhookReceiver, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    minute = now.replace(second=0, microsecond=0)
    await store.metrics.add(
        metrics(
            "commit",
            minute - timedelta(hours=3),
            minute + timedelta(minutes=3),
            5.0,
            minute - timedelta(minutes=2),
            1,
        )
        + metrics(
            "get_history",
            minute - timedelta(hours=3),
            minute + timedelta(minutes=3),
            12.0,
            minute + timedelta(days=1),
            2,
        )
    )
    config = {
        "detection": {"interval": "2s", "settle": "1s"},
        "schedules": {"escalate": "1s"},
        "channels": {
            "hook": {"type": "webhook", "url": f"{webhook_receiver.url}/hook", "secret": SECRET},
            "pager": {"type": "webhook", "url": f"{webhook_receiver.url}/pager", "secret": SECRET},
        },
        "routes": [
            {
                "name": "all",
                "notify": ["hook"],
                "escalation": [{"after": "8s", "notify": ["pager"]}],
            }
        ],
        "delivery": {"rate_limits": {}},
    }
    async with PerfbotProcess(db_url, tmp_path, config) as bot:

        async def fired() -> bool:
            return any(e == "fired" for e, _ in events(webhook_receiver, "/hook"))

        await eventually(fired, within=60)
        perfbot_delivery, rejected = readme_recipe()
        seen: set[str] = set()
        for call in webhook_receiver.calls:  # each verifies as the README's recipe checks it
            perfbot_delivery(SECRET, call.headers, call.body, seen, now=call.at)
        assert seen == {c.headers["X-Perfbot-Delivery"] for c in webhook_receiver.calls}
        first = webhook_receiver.calls[0]
        # replayed a minute later: verifies, but is recognised as handled; 5 minutes later: refused
        assert perfbot_delivery(SECRET, first.headers, first.body, seen, now=first.at + 60) is None
        with pytest.raises(rejected):
            perfbot_delivery(SECRET, first.headers, first.body, set(), now=first.at + 301)
        [alert] = [
            a
            for a in await store.alerts.with_status([AlertStatus.OPEN])
            if a.operation_types == ("commit",)
        ]
        service = AlertService(store, Settings.load(), SystemClock())
        await service.act(
            "ack", alert.id, Actor(user_id="U1", user_name="alice", source=ActorSource.CLI)
        )

        async def acknowledged() -> bool:
            return any(e == "acknowledged" for e, _ in events(webhook_receiver, "/hook"))

        await eventually(acknowledged, within=30)
        # The 8 s escalation step falls due at `due`: once an escalation run of a later slot has
        # finished and the outbox is empty, an escalation would have been sent.
        due = alert.next_escalation_at or alert.created_at + timedelta(seconds=8)

        async def escalation_checked() -> bool:
            async with store.connector.pool.acquire() as conn:
                ran = await conn.fetchval(
                    "SELECT count(*) FROM perfbot.job_runs WHERE job = 'escalate'"
                    " AND status = 'success' AND slot > $1",
                    due,
                )
            queue = await store.deliveries.stats(datetime.now(UTC))
            return bool(ran) and queue.pending == 0 and queue.sending == 0

        await eventually(escalation_checked, within=60)
        hook = events(webhook_receiver, "/hook")
        assert bot.process is not None
        assert bot.process.returncode is None
    fired_per_fingerprint = Counter(a["fingerprint"] for e, a in hook if e == "fired")
    assert fired_per_fingerprint == {"anomaly:commit": 1}
    assert [e for e, a in hook if e == "acknowledged"] == ["acknowledged"]
    assert events(webhook_receiver, "/pager") == []
    assert all(e != "escalated" for e, _ in hook)

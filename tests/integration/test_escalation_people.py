"""Escalation to people, end to end against real PostgreSQL and the Slack, Mattermost and SMTP
stand-ins, on a stepped clock: a WARNING left unacknowledged for its escalation delay pages the
person on call *now* on a weekly rotation with an override (mentioned by id in the alert's
Slack and Mattermost threads, sent a direct message on both, emailed, paged on PagerDuty
through his own routing key), and the same alert's
next step, after the rotation's hand-off, pages the next person. Who was paged and when is
frozen into the alert and shown on its card."""

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.models import Alert, DeliveryStatus
from bot.notify.people import person_channel_types
from bot.notify.registry import build_notifiers, close_all
from bot.store import Store
from tests.factories import make_anomaly
from tests.fakes import mattermost, pagerduty, slack
from tests.fakes.mattermost import MattermostFake
from tests.fakes.pagerduty import PagerDutyFake
from tests.fakes.slack import SlackFake
from tests.fakes.smtp import SmtpServer
from tests.polling import eventually

# Monday 2026-06-08 06:00 UTC = 08:00 in Paris: Ada's week ends at 09:00 Paris (07:00 UTC)
NOW = datetime(2026, 6, 8, 6, 0, tzinfo=UTC)
MM_ADA, MM_GRACE, MM_LINUS = ("a" * 26, "g" * 26, "l" * 26)
PEOPLE = {
    "ada": {"name": "Ada Lovelace", "slack": "U0ADA", "mattermost": MM_ADA, "email": "ada@x.test"},
    "grace": {
        "name": "Grace Hopper",
        "slack": "U0GRACE",
        "mattermost": MM_GRACE,
        "email": "grace@x.test",
    },
    "linus": {
        "name": "Linus T",
        "slack": "U0LINUS",
        "mattermost": MM_LINUS,
        "email": "l@x.test",
        "pagerduty_routing_key": pagerduty.ROUTING_KEY,  # his own PagerDuty service
    },
}


def settings_for(
    slack_fake: SlackFake, mm: MattermostFake, smtp: SmtpServer, pd: PagerDutyFake
) -> Settings:
    return Settings.load(
        pagerduty={"events_url": pd.events_url},
        slack={"api_url": slack_fake.api_url, "bot_token": slack_fake.token},
        mattermost={"url": mm.url, "token": mm.token},
        email={"host": smtp.host, "port": smtp.port, "from": "perfbot@x.test"},
        channels={
            "perf": {"type": "slack", "channel": slack.CHANNEL_ID},
            "mm": {"type": "mattermost", "channel_id": mattermost.CHANNEL_ID},
        },
        routes=[
            {
                "name": "all",
                "notify": ["perf", "mm"],
                "escalation": [
                    {"after": "10m", "notify": ["oncall:primary"]},
                    {"after": "90m", "notify": ["oncall:primary"]},
                ],
            }
        ],
        alerts={"resolve_after": "1d"},
        people=PEOPLE,
        oncall={
            "schedules": {
                "primary": {
                    "timezone": "Europe/Paris",
                    "layers": [
                        {
                            "rotation": "weekly",
                            "handoff": "09:00",
                            "start": "2026-06-01",
                            "participants": ["ada", "grace"],
                        }
                    ],
                    # Linus covers Ada from 05:30 to 06:30 UTC
                    "overrides": [
                        {
                            "person": "linus",
                            "start": "2026-06-08T05:30:00Z",
                            "end": "2026-06-08T06:30:00Z",
                        }
                    ],
                }
            }
        },
    )


@pytest.fixture
async def rig(
    store: Store,
    slack_fake: SlackFake,
    mattermost_fake: MattermostFake,
    smtp_server: SmtpServer,
    pagerduty_fake: PagerDutyFake,
) -> AsyncIterator[tuple[AlertService, DeliveryWorker, FrozenClock]]:
    for uid in ("U0ADA", "U0GRACE", "U0LINUS"):
        slack_fake.users[uid] = {"id": uid, "name": uid.lower(), "profile": {}}
    mattermost_fake.users.update(ada=MM_ADA, grace=MM_GRACE, linus=MM_LINUS)
    settings = settings_for(slack_fake, mattermost_fake, smtp_server, pagerduty_fake)
    clock = FrozenClock(NOW)
    notifiers = build_notifiers(settings, timeout=5.0)
    types: dict[str, str] = {n: c.type for n, c in settings.all_channels().items()}
    types.update(person_channel_types(settings))
    worker = DeliveryWorker(
        store, notifiers, types, settings.delivery, clock, "w1", rng=random.Random(1)
    )
    try:
        yield AlertService(store, settings, clock), worker, clock
    finally:
        await worker.drain()
        await close_all(notifiers)


async def deliver_all(store: Store, worker: DeliveryWorker, alert_id: int) -> None:
    while await worker.run_once():
        pass

    async def settled() -> bool:
        return all(
            d.status is DeliveryStatus.SENT for d in await store.deliveries.for_alert(alert_id)
        )

    await eventually(settled)


def slack_thread_texts(slack_fake: SlackFake) -> list[str]:
    return [
        str(c.args.get("text", ""))
        for c in slack_fake.calls
        if c.method == "chat.postMessage" and c.args.get("thread_ts")
    ]


def slack_dm_targets(slack_fake: SlackFake) -> list[str]:
    return [str(c.args.get("users")) for c in slack_fake.calls if c.method == "conversations.open"]


def mm_direct_posts(mm: MattermostFake) -> dict[str, list[str]]:
    """Direct-channel name (`<id>__<id>`) → the messages posted in it."""
    out: dict[str, list[str]] = {}
    for post in mm.posts.values():
        channel = mm.channels[post["channel_id"]]
        if channel.get("type") == "D":
            out.setdefault(channel["name"], []).append(post["message"])
    return out


async def test_escalation_pages_the_person_on_call_now_then_the_next_after_the_handoff(
    rig: tuple[AlertService, DeliveryWorker, FrozenClock],
    store: Store,
    slack_fake: SlackFake,
    mattermost_fake: MattermostFake,
    smtp_server: SmtpServer,
    pagerduty_fake: PagerDutyFake,
) -> None:
    service, worker, clock = rig
    [anomaly] = await store.findings.add_anomalies([make_anomaly(detected_at=NOW)])
    [alert] = await service.process_anomalies([anomaly], NOW)
    assert alert.severity.value == "WARNING"
    await deliver_all(store, worker, alert.id)
    assert slack_dm_targets(slack_fake) == []
    assert smtp_server.received == []

    # 9 minutes: not yet due, nobody paged
    clock.advance(timedelta(minutes=9))
    assert await service.tick(clock.now()) == 0

    # 10 minutes unacknowledged: Linus (override over Ada's week) is paged
    clock.set(NOW + timedelta(minutes=10))
    assert await service.tick(clock.now()) == 1
    await deliver_all(store, worker, alert.id)
    stored = await store.alerts.get(alert.id)
    assert isinstance(stored, Alert)
    assert [(p.person, p.schedule, p.at) for p in stored.paged] == [
        ("linus", "primary", NOW + timedelta(minutes=10))
    ]
    threads = slack_thread_texts(slack_fake)
    assert any("<@U0LINUS>" in t for t in threads), threads
    assert not any("<@U0ADA>" in t or "<@U0GRACE>" in t for t in threads)
    mm_replies = [p["message"] for p in mattermost_fake.posts.values() if p["root_id"]]
    assert any("@linus" in m for m in mm_replies), mm_replies
    assert any(MM_LINUS in c.path for c in mattermost_fake.calls if c.method == "GET /users/{id}")
    assert slack_dm_targets(slack_fake) == ["U0LINUS"]
    dm_posts = [
        c
        for c in slack_fake.calls
        if c.method == "chat.postMessage" and c.args["channel"] == "D0LINUS"
    ]
    assert len(dm_posts) == 1
    assert list(mm_direct_posts(mattermost_fake)) == [
        "__".join(sorted([mattermost.BOT_USER_ID, MM_LINUS]))
    ]
    assert [m.rcpt_tos for m in smtp_server.received] == [["l@x.test"]]
    # Linus has a PagerDuty routing key of his own: paged there too (Grace has none)
    assert [(e["routing_key"], e["event_action"]) for e in pagerduty_fake.events] == [
        (pagerduty.ROUTING_KEY, "trigger")
    ]
    # the card names who was paged and when
    shown = "Linus T (on call: primary) at 2026-06-08 06:10:00 UTC"
    edits = [str(c.args) for c in slack_fake.calls if c.method == "chat.update"]
    assert any(shown in e for e in edits), edits
    patches = [str(c.args) for c in mattermost_fake.calls if c.method.startswith("PUT /posts")]
    # Mattermost's Markdown escaping turns `:` into `\:`
    assert any("Linus T (on call" in p and "primary) at 2026-06-08 06" in p for p in patches)

    # 90 minutes: past the 09:00 Paris hand-off (and the override's end) → Grace is paged
    clock.set(NOW + timedelta(minutes=90))
    assert await service.tick(clock.now()) == 1
    await deliver_all(store, worker, alert.id)
    stored = await store.alerts.get(alert.id)
    assert isinstance(stored, Alert)
    assert [p.person for p in stored.paged] == ["linus", "grace"]
    threads = slack_thread_texts(slack_fake)
    assert any("<@U0GRACE>" in t for t in threads)
    assert not any("<@U0ADA>" in t for t in threads)
    assert slack_dm_targets(slack_fake) == ["U0LINUS", "U0GRACE"]
    assert any("@grace" in p["message"] for p in mattermost_fake.posts.values() if p["root_id"])
    assert [m.rcpt_tos for m in smtp_server.received] == [["l@x.test"], ["grace@x.test"]]
    assert len(pagerduty_fake.events) == 1
    mail = smtp_server.received[-1].message
    body = mail.get_body(("plain",))
    assert body is not None
    assert "Grace Hopper (on call: primary)" in body.get_content()

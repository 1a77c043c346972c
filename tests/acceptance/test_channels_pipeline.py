"""Channels end to end: `perfbot run` against the Slack, Mattermost and PagerDuty stand-ins and a
real SMTP server. One injected anomaly → a Slack message with three buttons, a Mattermost post
with three actions, an email and a PagerDuty trigger, each carrying the operation, severity and
values; an acknowledgement → chat.update, the post edited, a threaded email and a PagerDuty
acknowledge. Mattermost down for a while → delivered after it returns."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts import AlertService
from bot.clock import SystemClock
from bot.config import Settings
from bot.models import ActorSource, AlertStatus
from bot.routing.transition import Actor
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.acceptance.test_alert_pipeline import metrics
from tests.fakes.fixtures import perfbot_env
from tests.fakes.mattermost import MattermostFake
from tests.fakes.pagerduty import PagerDutyFake
from tests.fakes.slack import SlackFake
from tests.fakes.smtp import SmtpServer
from tests.polling import eventually

CONFIG = {
    "detection": {"interval": "2s", "settle": "1s"},
    "schedules": {"escalate": "1s"},
    "routes": [{"name": "everyone", "notify": ["slack", "mattermost", "email", "pagerduty"]}],
    "delivery": {
        "rate_limits": {},
        "backoff_base": "200ms",
        "backoff_max": "1s",
        "breaker_cooldown": "1s",
    },
}


async def test_one_anomaly_on_every_channel_then_acknowledged(
    store: Store,
    db_url: str,
    slack_fake: SlackFake,
    mattermost_fake: MattermostFake,
    pagerduty_fake: PagerDutyFake,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    await store.metrics.add(
        metrics(
            "commit",
            minute - timedelta(hours=3),
            minute + timedelta(minutes=3),
            5.0,
            minute - timedelta(minutes=2),
            7,
        )
    )
    await mattermost_fake.down()  # Mattermost is away when the alert fires
    env = perfbot_env(
        slack_fake=slack_fake,
        mattermost_fake=mattermost_fake,
        pagerduty_fake=pagerduty_fake,
        smtp=smtp_server,
        actions_url="http://127.0.0.1:9/mattermost/actions",
    )
    async with PerfbotProcess(db_url, tmp_path, CONFIG, env):

        async def slack_posted() -> bool:
            return (
                bool(slack_fake.calls_to("chat.postMessage"))
                and bool(pagerduty_fake.events)
                and bool(smtp_server.received)
            )

        await eventually(slack_posted, within=60)
        await mattermost_fake.up()

        async def mattermost_posted() -> bool:
            return bool(mattermost_fake.posts)

        await eventually(mattermost_posted, within=30)

        [post_call] = slack_fake.calls_to("chat.postMessage")[:1]
        blocks = post_call.args["blocks"]
        actions = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
        assert actions == ["perf_ack", "perf_escalate", "perf_resolve", "perf_silence_1h"]
        text = str(blocks)
        assert "commit" in text
        assert "CRITICAL" in text or "WARNING" in text
        assert "ms" in text
        [post] = list(mattermost_fake.posts.values())[:1]
        [attachment] = post["props"]["attachments"]
        assert [a["id"] for a in attachment["actions"]] == [
            "ack",
            "escalate",
            "resolve",
            "silence1h",
        ]
        assert "commit" in str(attachment)
        # The latency chart went into the alert message's thread, the sparkline into the text.
        await slack_fake.wait_for_call("files.completeUploadExternal", within=30)
        [upload] = slack_fake.calls_to("files.completeUploadExternal")
        assert upload.args.get("thread_ts")
        assert any(ch in text for ch in "▁▂▃▄▅▆▇█")
        [trigger] = pagerduty_fake.events[:1]
        assert trigger["event_action"] == "trigger"
        assert trigger["dedup_key"] == "anomaly:commit"
        assert trigger["payload"]["component"] == "commit"
        first_mail = smtp_server.received[0].message
        assert "commit" in first_mail["Subject"]

        [alert] = [
            a
            for a in await store.alerts.with_status([AlertStatus.OPEN])
            if a.operation_types == ("commit",)
        ]
        service = AlertService(store, Settings.load(), SystemClock())
        await service.act(
            "ack", alert.id, Actor(user_id="U1", user_name="alice", source=ActorSource.SLACK)
        )

        async def everywhere() -> bool:
            edited = [c for c in mattermost_fake.calls if c.verb == "PUT"]
            acked_pd = [e for e in pagerduty_fake.events if e["event_action"] == "acknowledge"]
            threaded = [
                m
                for m in smtp_server.received[1:]
                if m.message["In-Reply-To"] == first_mail["Message-ID"]
            ]
            return bool(slack_fake.calls_to("chat.update") and edited and acked_pd and threaded)

        await eventually(everywhere, within=30)
    update = slack_fake.calls_to("chat.update")[-1]
    assert (
        update.args["ts"] == post_call.json().get("ts", update.args["ts"]) or update.args["channel"]
    )
    assert "alice" in str(update.args.get("blocks")) or "alice" in str(update.args.get("text"))

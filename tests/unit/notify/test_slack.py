"""SlackNotifier against the Slack stand-in: posting, editing, threads, charts, errors."""

import logging
from typing import Any

import pytest

from bot.errors import NotifyError
from bot.models import AlertStatus
from bot.notify import Notification
from bot.notify.slack import SlackNotifier
from tests.fakes.slack import CHANNEL_ID, CHANNEL_NAME, SlackFake
from tests.unit.notify.factories import make_alert, make_notification, make_series

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def post(slack: SlackNotifier, notification: Notification) -> dict[str, Any]:
    ref = await slack.send(notification)
    assert ref is not None
    return ref


def notifier(
    fake: SlackFake,
    *,
    destination: str = f"#{CHANNEL_NAME}",
    token: str | None = None,
    timeout: float = 2.0,
) -> SlackNotifier:
    return SlackNotifier(
        "oncall-slack",
        destination,
        token=token or fake.token,
        api_url=fake.api_url,
        timeout=timeout,
    )


async def test_fired_posts_and_returns_channel_and_ts(slack_fake):
    ref = await post(notifier(slack_fake), make_notification())
    (call,) = slack_fake.calls_to("chat.postMessage")
    assert call.headers["Authorization"] == f"Bearer {slack_fake.token}"
    assert call.args["channel"] == "#perf-alerts"
    assert ref == {"channel": CHANNEL_ID, "ts": slack_fake.messages[(CHANNEL_ID, ref["ts"])]["ts"]}
    stored = slack_fake.messages[(CHANNEL_ID, ref["ts"])]
    actions = next(b for b in stored["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [
        "perf_ack",
        "perf_escalate",
        "perf_resolve",
        "perf_silence_1h",
    ]
    assert stored["text"].startswith("[CRITICAL] commit latency anomaly (#42)")


async def test_state_change_updates_the_same_message(slack_fake):
    slack = notifier(slack_fake)
    ref = await post(slack, make_notification())
    acked = make_alert(status=AlertStatus.ACKNOWLEDGED, acknowledged_by="alice", version=2)
    again = await slack.send(make_notification("acknowledged", acked, previous=ref))
    assert again == ref
    (update,) = slack_fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (ref["channel"], ref["ts"])
    assert len(slack_fake.calls_to("chat.postMessage")) == 1
    stored = slack_fake.messages[(ref["channel"], ref["ts"])]
    assert "edited" in stored
    actions = next(b for b in stored["blocks"] if b["type"] == "actions")
    assert actions["elements"][0]["action_id"] == "perf_unack"


async def test_resolved_update_removes_the_buttons(slack_fake):
    slack = notifier(slack_fake)
    ref = await post(slack, make_notification())
    await slack.send(
        make_notification("resolved", make_alert(status=AlertStatus.RESOLVED), previous=ref)
    )
    stored = slack_fake.messages[(ref["channel"], ref["ts"])]
    assert all(b["type"] != "actions" for b in stored["blocks"])


async def test_escalation_updates_and_replies_in_thread_with_mentions(slack_fake):
    slack = notifier(slack_fake)
    ref = await post(slack, make_notification())
    escalated = make_notification(
        "escalated", make_alert(escalation_step=1), previous=ref, mention=("U024BE7LH",)
    )
    assert await slack.send(escalated) == ref
    assert len(slack_fake.calls_to("chat.update")) == 1
    (reply,) = slack_fake.thread(ref["channel"], ref["ts"])
    assert reply["text"].startswith(
        "<@U024BE7LH> :rotating_light: commit latency anomaly (#42): escalated to step 1 of 2"
    )


async def test_repeat_replies_in_thread(slack_fake):
    slack = notifier(slack_fake)
    ref = await post(slack, make_notification())
    await slack.send(make_notification("repeat", make_alert(occurrences=5), previous=ref))
    (reply,) = slack_fake.thread(ref["channel"], ref["ts"])
    assert "5 occurrences" in reply["text"]


async def test_event_without_reference_posts_a_new_message(slack_fake):
    ref = await post(notifier(slack_fake), make_notification("updated"))
    assert ref is not None
    assert len(slack_fake.calls_to("chat.postMessage")) == 1
    assert not slack_fake.calls_to("chat.update")


async def test_message_gone_posts_anew(slack_fake):
    slack = notifier(slack_fake)
    ref = await post(
        slack, make_notification("updated", previous={"channel": CHANNEL_ID, "ts": "1.000001"})
    )
    assert ref is not None
    assert ref["ts"] != "1.000001"
    assert len(slack_fake.calls_to("chat.update")) == 1
    assert len(slack_fake.calls_to("chat.postMessage")) == 1


async def test_fired_with_series_uploads_chart_to_the_thread(slack_fake):
    # generous timeout: matplotlib's first import builds its font cache on a fresh machine
    ref = await post(notifier(slack_fake, timeout=30.0), make_notification(series=make_series()))
    assert ref is not None
    (upload,) = [f for f in slack_fake.files.values() if f.completed]
    assert upload.channel == ref["channel"]
    assert upload.thread_ts == ref["ts"]
    assert upload.content.startswith(PNG_MAGIC)
    assert upload.filename == "perfbot-alert-42.png"
    (raw,) = slack_fake.calls_to("upload")
    assert "Authorization" not in raw.headers  # the upload URL is pre-signed
    assert [c.method for c in slack_fake.calls] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


async def test_failed_chart_upload_keeps_the_alert_and_logs(slack_fake, caplog):
    slack_fake.fail(500, times=3, path_prefix="/api/files.")
    with caplog.at_level(logging.WARNING, logger="bot.notify.slack"):
        ref = await post(
            notifier(slack_fake, timeout=30.0), make_notification(series=make_series())
        )
    assert ref is not None
    assert len(slack_fake.calls_to("chat.postMessage")) == 1
    (record,) = [r for r in caplog.records if getattr(r, "action", None) == "slack_chart_failed"]
    assert record.alert_id == 42


async def test_rate_limit_raises_with_retry_after(slack_fake):
    slack_fake.fail(429, retry_after=7)
    with pytest.raises(NotifyError) as caught:
        await notifier(slack_fake).send(make_notification())
    assert caught.value.retry_after == 7.0
    assert caught.value.status == 429
    assert not caught.value.permanent
    assert [c.path for c in slack_fake.faulted] == [
        "/api/chat.postMessage"
    ]  # slack-sdk did not retry
    assert not slack_fake.calls_to("chat.postMessage")


async def test_server_error_is_retryable(slack_fake):
    slack_fake.fail(503)
    with pytest.raises(NotifyError) as caught:
        await notifier(slack_fake).send(make_notification())
    assert not caught.value.permanent
    assert caught.value.status == 503


@pytest.mark.parametrize(
    ("destination", "token", "code"),
    [("#nope", None, "channel_not_found"), ("#perf-alerts", "xoxb-wrong", "invalid_auth")],
)
async def test_api_errors_are_permanent(slack_fake, destination, token, code):
    with pytest.raises(NotifyError) as caught:
        await notifier(slack_fake, destination=destination, token=token).send(make_notification())
    assert caught.value.permanent
    assert code in caught.value.reason


async def test_hang_times_out_retryably(slack_fake):
    slack_fake.hang()
    with pytest.raises(NotifyError) as caught:
        await notifier(slack_fake, timeout=0.3).send(make_notification())
    assert not caught.value.permanent
    assert "no answer within 0.3 s" in caught.value.reason


async def test_down_is_retryable_and_recovers(slack_fake):
    slack = notifier(slack_fake)
    await slack_fake.down()
    with pytest.raises(NotifyError) as caught:
        await slack.send(make_notification())
    assert not caught.value.permanent
    await slack_fake.up()
    assert await slack.send(make_notification()) is not None

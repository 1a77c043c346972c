"""Replays against a real `perfbot run` (the Slack and Mattermost stand-ins relay the
requests): the same signed `/perf escalate` sent 4 times pages once, the same signed Silence-1h
click sent 3 times makes one silence, a Mattermost click replayed does nothing and neither does
its button once the alert moved on; an escalate right after another is answered "already
escalated" and a second, identical silence is not made."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot.models import EscalationPlan, EscalationStep, Severity
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.acceptance.slack_user import SIGNING_SECRET, SlackUser, signed_headers
from tests.factories import make_new_alert
from tests.fakes.fixtures import perfbot_env
from tests.fakes.mattermost import MattermostFake
from tests.fakes.slack import CHANNEL_ID, SlackFake
from tests.polling import eventually

CHANNELS = ("oncall-slack", "oncall-mm")
CONFIG: dict[str, Any] = {
    "channels": {
        "oncall-slack": {"type": "slack", "channel": CHANNEL_ID},
        "oncall-mm": {"type": "mattermost", "channel_id": "4xp9fdt7pbgium38k5k6hj9dhc"},
    },
    "routes": [{"name": "everything", "notify": list(CHANNELS)}],
    "permissions": {"ack": ["*"], "escalate": ["*"], "silence": ["*"], "resolve": ["*"]},
    "schedules": {"escalate": "1h"},  # no timer runs during the test
    "delivery": {"rate_limits": {}, "backoff_base": "50ms", "backoff_max": "200ms"},
}


async def fetch(store: Store, sql: str, *args: object) -> list[dict[str, Any]]:
    async with store.connector.pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


async def fire(store: Store, name: str) -> int:
    """A WARNING alert about operation `name`, sent to both chat channels (queued `fired`)."""
    now = datetime.now(UTC)
    async with store.alerts.transaction() as tx:
        alert = await tx.insert_alert(
            make_new_alert(
                fingerprint=f"anomaly:{name}",
                operation_types=(name,),
                title=f"{name} latency anomaly",
                first_seen=now - timedelta(minutes=2),
                last_seen=now,
                created_at=now,
                updated_at=now,
                notified_channels=CHANNELS,
                plan=EscalationPlan(
                    route="everything",
                    channels=CHANNELS,
                    steps=(EscalationStep(after=timedelta(minutes=10), notify=CHANNELS),),
                ),
            )
        )
        for channel in CHANNELS:
            await tx.enqueue(alert.id, channel, "fired", Severity.WARNING, now=now, max_attempts=5)
    return alert.id


def perfbot(
    db_url: str, tmp_path: Path, slack_fake: SlackFake, mattermost_fake: MattermostFake
) -> PerfbotProcess:
    bot = PerfbotProcess(db_url, tmp_path, CONFIG)
    bot.env |= perfbot_env(
        slack_fake=slack_fake,
        mattermost_fake=mattermost_fake,
        actions_url=f"{bot.url}/mattermost/actions",
    ) | {"PERFBOT_SLACK__SIGNING_SECRET": SIGNING_SECRET}
    return bot


async def send_same(user: SlackUser, body: str, times: int) -> list[tuple[int, str]]:
    """POST one signed request (same body, timestamp and signature) `times` times."""
    headers = signed_headers(body)
    async with aiohttp.ClientSession(
        trust_env=False, timeout=aiohttp.ClientTimeout(total=10)
    ) as session:
        return [await user.post(session, body, headers) for _ in range(times)]


async def outbox_empty(store: Store) -> bool:
    stats = await store.deliveries.stats(datetime.now(UTC))
    return stats.pending == 0 and stats.sending == 0


async def delivered(store: Store, alert_id: int, event: str) -> int:
    rows = await fetch(
        store,
        "SELECT count(*) AS n FROM perfbot.deliveries"
        " WHERE alert_id = $1 AND event = $2 AND status = 'sent'",
        alert_id,
        event,
    )
    return int(rows[0]["n"])


async def audited(store: Store, alert_id: int, action: str) -> int:
    rows = await fetch(
        store,
        "SELECT count(*) AS n FROM perfbot.alert_events WHERE alert_id = $1 AND action = $2",
        alert_id,
        action,
    )
    return int(rows[0]["n"])


def reply_text(user: SlackUser, response_url: str) -> list[str]:
    return [
        p.get("text", "") for p in user.fake.response_urls[response_url.rsplit("/", 1)[-1]].posts
    ]


async def test_replayed_slack_escalate_pages_once_and_a_second_escalate_is_refused(
    store: Store,
    db_url: str,
    slack_fake: SlackFake,
    mattermost_fake: MattermostFake,
    tmp_path: Path,
) -> None:
    alert_id = await fire(store, "commit")
    async with perfbot(db_url, tmp_path, slack_fake, mattermost_fake) as bot:
        user = SlackUser(slack_fake, f"{bot.url}/slack/events")
        await eventually(lambda: _sent(store, alert_id, "fired", 2), within=30)

        response_url = slack_fake.new_response_url()
        answers = await send_same(user, user.slash_body(f"escalate {alert_id}", response_url), 4)
        assert answers[0] == (200, "")  # acknowledged; the answer comes through response_url
        assert (
            answers[1:]
            == [(200, "perfbot already handled this request; nothing was done again.")] * 3
        )
        await eventually(lambda: _sent(store, alert_id, "escalated", 2), within=30)
        assert reply_text(user, response_url)[0].startswith(f"Alert #{alert_id}")

        again = await user.slash(f"escalate {alert_id}")  # a new request, seconds later
        assert again.status == 200
        await eventually(lambda: _replied(user, again.response_url), within=15)
        [text] = reply_text(user, again.response_url)
        assert f"was already escalated (by {user.user_name}" in text
        assert "not paging again" in text
        # the answer came after the command committed: a second page, if one were (wrongly)
        # queued, is in the outbox; once it is empty, it would have been sent
        await eventually(lambda: outbox_empty(store), within=30)
        assert await audited(store, alert_id, "escalated") == 1
        assert await delivered(store, alert_id, "escalated") == 2  # one per channel, once
    assert "action=slack_request_replayed" in bot.output()


async def test_replayed_slack_silence_click_makes_one_silence(
    store: Store,
    db_url: str,
    slack_fake: SlackFake,
    mattermost_fake: MattermostFake,
    tmp_path: Path,
) -> None:
    alert_id = await fire(store, "merge")
    async with perfbot(db_url, tmp_path, slack_fake, mattermost_fake) as bot:
        user = SlackUser(slack_fake, f"{bot.url}/slack/events")
        response_url = slack_fake.new_response_url()
        body = user.click_body("perf_silence_1h", str(alert_id), "1700000000.000100", response_url)
        answers = await send_same(user, body, 3)
        assert answers == [(200, "")] * 3
        await eventually(lambda: _replied(user, response_url), within=15)
        # and a second click of the button (a new, signed request) finds the same silence
        second = await user.click("perf_silence_1h", alert_id, "1700000000.000100")
        await eventually(lambda: _replied(user, second.response_url), within=15)
        [text] = reply_text(user, second.response_url)
        assert text.startswith("Already silenced until ")
        await eventually(lambda: outbox_empty(store), within=30)  # anything queued is sent
        silences = await fetch(store, "SELECT id, match FROM perfbot.silences")
        assert len(silences) == 1, silences
        assert reply_text(user, response_url) == [
            reply_text(user, response_url)[0]
        ]  # one answer: the replays ran nothing
        assert await audited(store, alert_id, "silence_created") == 1


async def test_replayed_mattermost_click_does_nothing(
    store: Store,
    db_url: str,
    slack_fake: SlackFake,
    mattermost_fake: MattermostFake,
    tmp_path: Path,
) -> None:
    alert_id, other_id = await fire(store, "branch_create"), await fire(store, "get_history")
    async with perfbot(db_url, tmp_path, slack_fake, mattermost_fake) as bot:
        await eventually(lambda: _posted(mattermost_fake, alert_id, other_id), within=30)
        post_id = _post_of(mattermost_fake, alert_id)
        context = _context(mattermost_fake, post_id, "escalate")

        first = await mattermost_fake.click(post_id, "escalate", context=context)
        assert first.answer is not None
        assert first.answer["ephemeral_text"].startswith(f"Alert #{alert_id} escalated")
        replay = await mattermost_fake.click(post_id, "escalate", context=context)
        assert replay.answer == {
            "ephemeral_text": "perfbot already handled this request; nothing was done again."
        }
        # the same button pressed by someone else: the alert moved on since it was drawn
        late = await mattermost_fake.click(
            post_id, "escalate", context=context, user_id="u0bob", user_name="bob"
        )
        assert late.answer is not None
        assert late.answer["ephemeral_text"].startswith(f"Alert #{alert_id} changed since")

        # re-drawn on the escalation, the post's buttons are bound to it: not to another post
        async def redrawn() -> bool:
            return "post" in _context(mattermost_fake, post_id, "escalate")

        await eventually(redrawn, within=30)
        fresh = _context(mattermost_fake, post_id, "escalate")
        assert fresh["post"] == post_id
        moved = await mattermost_fake.click(
            _post_of(mattermost_fake, other_id), "escalate", context=fresh
        )
        assert moved.answer is not None
        assert "could not verify" in moved.answer["ephemeral_text"]
        await eventually(lambda: outbox_empty(store), within=30)  # anything queued is sent
        assert await audited(store, alert_id, "escalated") == 1
        assert await audited(store, other_id, "escalated") == 0
    assert "action=mattermost_request_replayed" in bot.output()
    assert "action=mattermost_click_refused" in bot.output()


def _post_of(fake: MattermostFake, alert_id: int) -> str:
    return next(
        pid
        for pid, p in fake.posts.items()
        if f"#{alert_id} " in p["props"]["attachments"][0]["footer"] + " "
    )


async def _posted(fake: MattermostFake, *alert_ids: int) -> bool:
    footers = " ".join(
        p["props"]["attachments"][0].get("footer", "") + " " for p in fake.posts.values()
    )
    return all(f"#{a} " in footers for a in alert_ids)


def _context(fake: MattermostFake, post_id: str, action: str) -> dict[str, Any]:
    [button] = [
        a for a in fake.posts[post_id]["props"]["attachments"][0]["actions"] if a["id"] == action
    ]
    return dict(button["integration"]["context"])


async def _sent(store: Store, alert_id: int, event: str, n: int) -> bool:
    return await delivered(store, alert_id, event) >= n


async def _replied(user: SlackUser, response_url: str) -> bool:
    return bool(reply_text(user, response_url))

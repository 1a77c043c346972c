"""Names are data, never markup, against a real `perfbot run`: alerts whose operation names
are the issue's attacks arrive at the Slack stand-in escaped (no `<!channel>`, no link) and at
the Mattermost stand-in defused (no `@channel`, link or image), and a name with a line break
leaves the next real CRITICAL email delivered at once.

The alerts are stored directly, as data written before operation names were validated at
ingest would be: escaping is the defence that still holds when such a name is in the
database."""

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.models import DeliveryStatus, Severity
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.factories import make_new_alert
from tests.fakes.fixtures import perfbot_env
from tests.fakes.mattermost import MattermostFake
from tests.fakes.slack import SlackFake
from tests.fakes.smtp import SmtpServer
from tests.polling import eventually

SLACK_ATTACK = (
    "<!channel> prod DB is down, re-login at <https://evil.example/sso|https://sso.example.com>"
)
MM_ATTACK = (
    "@channel [Acknowledge here](https://evil.example/ack) ![t](https://evil.example/pixel.png)"
)
NEWLINE = "commit\nBcc: victim@example.com"
BREAKER_FAILURES = 2
CONFIG: dict[str, Any] = {
    "delivery": {
        "rate_limits": {},
        "backoff_base": "100ms",
        "backoff_max": "500ms",
        "breaker_failures": BREAKER_FAILURES,
        "breaker_cooldown": "5m",  # an open circuit would hold every mail for minutes
    }
}


async def store_alert(
    store: Store, operation: str, channels: tuple[str, ...], severity: Severity
) -> int:
    """An open alert about `operation`, seen just now, with `fired` queued on `channels`."""
    now = datetime.now(UTC)
    async with store.alerts.transaction() as tx:
        alert = await tx.insert_alert(
            make_new_alert(
                fingerprint=f"anomaly:{operation}",
                operation_types=(operation,),
                title=f"{operation} latency anomaly",
                summary=f"worst 812 ms of {operation}",
                severity=severity,
                first_seen=now,
                last_seen=now,
                created_at=now,
                updated_at=now,
            )
        )
        for channel in channels:
            await tx.enqueue(alert.id, channel, "fired", severity, now=now, max_attempts=5)
    return alert.id


def mrkdwn(payload: Any) -> list[str]:
    """Every mrkdwn text in a Block Kit payload."""
    if isinstance(payload, dict):
        own = [payload["text"]] if payload.get("type") == "mrkdwn" else []
        return own + [t for v in payload.values() for t in mrkdwn(v)]
    if isinstance(payload, list):
        return [t for item in payload for t in mrkdwn(item)]
    return []


def mattermost_mentions(text: str) -> set[str]:
    """The words Mattermost's server takes for mentions: it splits at anything but letters,
    digits and `.-_:@`."""
    words = "".join(c if c.isalnum() or c in ".-_:@" else " " for c in text).split()
    return {w.lower() for w in words if w.startswith("@") and len(w) > 1}


async def test_names_arrive_escaped_at_slack_and_defused_at_mattermost(
    store: Store,
    db_url: str,
    slack_fake: SlackFake,
    mattermost_fake: MattermostFake,
    tmp_path: Path,
) -> None:
    env = perfbot_env(slack_fake=slack_fake, mattermost_fake=mattermost_fake)
    async with PerfbotProcess(db_url, tmp_path, CONFIG, env):
        for attack in (SLACK_ATTACK, MM_ATTACK):
            await store_alert(store, attack, ("slack", "mattermost"), Severity.CRITICAL)

        async def both_posted() -> bool:
            return (
                len(slack_fake.calls_to("chat.postMessage")) >= 2
                and len(mattermost_fake.posts) >= 2
            )

        await eventually(both_posted, within=30)

    for call in slack_fake.calls_to("chat.postMessage"):
        texts = [call.args["text"], *mrkdwn(call.args["blocks"])]
        for text in texts:
            assert re.findall(r"<[^<>]*>", text) == [], text  # no mention, link or channel
        blob = "\n".join(texts)
        assert ("&lt;!channel&gt; prod DB is down" in blob) or ("@channel [Acknowledge" in blob)
        assert all(
            block["text"]["type"] == "plain_text"
            for block in call.args["blocks"]
            if block["type"] == "header"
        )

    for post in mattermost_fake.posts.values():
        [attachment] = post["props"]["attachments"]
        markdown = [
            post["message"],
            attachment["title"],
            attachment["text"],
            *(field["value"] for field in attachment["fields"]),
        ]
        for text in markdown:
            assert mattermost_mentions(text) == set(), text
            assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", text), text  # [x](y), ![x](y)
            assert not re.search(r"(?<!\\)https?://", text), text  # nothing to auto-link
            assert "<https://" not in text
    titles = [p["props"]["attachments"][0]["title"] for p in mattermost_fake.posts.values()]
    assert any(t.startswith("@\u2060channel \\[Acknowledge here\\]") for t in titles), titles


async def test_a_newline_name_leaves_the_next_critical_email_on_time(
    store: Store, db_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    env = perfbot_env(smtp=smtp_server)
    async with PerfbotProcess(db_url, tmp_path, CONFIG, env):
        poison = [
            await store_alert(store, f"{NEWLINE}{i}", ("email",), Severity.CRITICAL)
            for i in range(3)
        ]

        async def tried() -> bool:
            """As many names tried as it takes to open the email circuit, if they count
            against it: each one sent, or failed (a deferral puts its attempt back)."""
            rows = [d for a in poison for d in await store.deliveries.for_alert(a)]
            done = [d for d in rows if d.status is DeliveryStatus.SENT or d.last_error]
            return len(done) >= BREAKER_FAILURES

        await eventually(tried, within=30)
        before = len(smtp_server.received)
        real = await store_alert(store, "checkout", ("email",), Severity.CRITICAL)

        async def real_mailed() -> bool:
            return any(
                f"(#{real})" in str(m.message["Subject"]) for m in smtp_server.received[before:]
            )

        await eventually(real_mailed, within=10)  # at once, not after the 5-minute cooldown

        async def poison_mailed() -> bool:  # as mail with a one-line Subject
            subjects = [str(m.message["Subject"]) for m in smtp_server.received]
            return sum("commit Bcc: victim@example.com" in s for s in subjects) == len(poison)

        await eventually(poison_mailed, within=10)

    for mail in smtp_server.received:
        message = mail.message
        assert message["Bcc"] is None
        assert "\n" not in str(message["Subject"])

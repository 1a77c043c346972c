"""Forged and bad input against a real `perfbot run` with every secret configured: each HTTP
endpoint answers 4xx with a message saying what is wrong (never a 500), nothing is stored or
changed, and neither the bot's log (at DEBUG) nor any answer contains a configured secret.

Extends the chat tests (bad Slack signatures, stale timestamps, wrong Mattermost tokens and
forged button contexts are covered in test_slack.py and test_mattermost.py) with: absent and
malformed signature headers, tampered bodies, oversized and malformed bodies for every POST
endpoint, wrong types in button contexts and ingest payloads, and hostile command text (SQL,
unicode, control characters) from authenticated users."""

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.store import Store
from bot.store.queries import QUERIES
from tests.acceptance.harness import AUTH, INGEST_TOKEN, PerfbotProcess
from tests.acceptance.slack_user import SlackUser
from tests.fakes import mattermost
from tests.fakes.fixtures import perfbot_env
from tests.fakes.mattermost import MattermostFake
from tests.fakes.slack import SlackFake
from tests.polling import eventually

SIGNING_SECRET = "sign-5ecret-0f-the-slack-app-77"
COMMAND_TOKEN = "mm-command-5ecret-token-42"
ACTIONS_SECRET = "mm-actions-5ecret-hmac-key"
HOOK_SECRET = "hook-5ecret-hmac-key"
ROUTING_KEY = "pd-routing-5ecret-key"
SMTP_PASSWORD = "smtp-5ecret-password"
SLACK_BOT_TOKEN = "xoxb-5ecret-slack-bot-token"
MM_BOT_TOKEN = "mm-5ecret-bot-token"
SECRETS = (
    SIGNING_SECRET,
    COMMAND_TOKEN,
    ACTIONS_SECRET,
    HOOK_SECRET,
    ROUTING_KEY,
    SMTP_PASSWORD,
    SLACK_BOT_TOKEN,
    MM_BOT_TOKEN,
    INGEST_TOKEN,
)
LIMIT = 64 * 1024  # http.max_body_bytes
GOOD_METRIC = {
    "operation_type": "commit",
    "duration_ms": 5.5,
    "recorded_at": "2026-01-01T00:00:00Z",
}
GOOD_MERGE = {
    "source_branch": "feature",
    "target_branch": "main",
    "status": "SUCCESS",
    "total_ms": 80,
    "started_at": "2026-01-01T00:00:00Z",
}


def slack_sign(body: bytes, *, timestamp: str | None = None, secret: str = SIGNING_SECRET) -> dict:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def slash(text: str) -> bytes:
    return SlackUser(SlackFake(), "unused").slash_body(text, "http://127.0.0.1:9/x").encode()


def mm_form(text: str, **extra: str) -> bytes:
    return urlencode(
        {"command": "/perf", "text": text, "user_id": mattermost.ALICE_ID, "user_name": "alice"}
        | extra
    ).encode()


def mm_click(context: Any) -> bytes:
    return json.dumps(
        {"user_id": mattermost.ALICE_ID, "user_name": "alice", "context": context}
    ).encode()


JSON = {"Content-Type": "application/json"}


def as_json(value: Any) -> dict:
    return {"body": json.dumps(value).encode(), "headers": {"Content-Type": "application/json"}}


@dataclass
class Case:
    """One bad request: what to send, and the status and message it must get."""

    name: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 400
    says: str = ""
    method: str = "POST"
    auth: bool = True  # send the ingest token (to /api/v1/* only)


def slack_cases() -> list[Case]:
    body = slash("ack 1")
    signed = slack_sign(body)
    shaped = urlencode({"payload": json.dumps({"type": "block_actions", "actions": "x"})}).encode()
    user_number = urlencode(
        {
            "payload": json.dumps(
                {
                    "type": "block_actions",
                    "user": 5,
                    "actions": [{"action_id": "perf_ack", "value": "1"}],
                }
            )
        }
    ).encode()
    return [
        Case("slack: no signature headers", "/slack/events", body,
             {"Content-Type": "application/x-www-form-urlencoded"}, 401, "invalid request"),
        Case("slack: signature without timestamp", "/slack/events", body,
             {k: v for k, v in signed.items() if k != "X-Slack-Request-Timestamp"}, 401, "invalid"),
        Case("slack: timestamp not a number", "/slack/events", body,
             slack_sign(body, timestamp="yesterday"), 401, "invalid request"),
        Case("slack: timestamp 10 minutes ahead", "/slack/events", body,
             slack_sign(body, timestamp=str(int(time.time()) + 600)), 401, "invalid request"),
        Case("slack: body changed after signing", "/slack/events", slash("ack 2"), signed, 401,
             "invalid request"),
        Case("slack: signature of another scheme", "/slack/events", body,
             {**signed, "X-Slack-Signature": "v1=" + signed["X-Slack-Signature"][3:]}, 401,
             "invalid request"),
        Case("slack: signed, not UTF-8", "/slack/events", b"command=/perf&text=\xff\xfe",
             slack_sign(b"command=/perf&text=\xff\xfe"), 400, "not UTF-8"),
        Case("slack: signed, payload not JSON", "/slack/events", b"payload=%7Bnot-json",
             slack_sign(b"payload=%7Bnot-json"), 400, "malformed Slack request"),
        Case("slack: signed, actions not a list", "/slack/events", shaped, slack_sign(shaped), 400,
             "malformed Slack request"),
        Case("slack: signed, user a number", "/slack/events", user_number,
             slack_sign(user_number), 400, "malformed Slack request"),
        Case("slack: signed, a JSON list", "/slack/events", b"[1]",
             {**slack_sign(b"[1]"), "Content-Type": "application/json"}, 400,
             "malformed Slack request"),
        Case("slack: non-ASCII signature", "/slack/events", body,
             {**signed, "X-Slack-Signature": "v0=" + "é" * 64}, 401, "invalid request"),
        Case("slack: oversized", "/slack/events", b"text=" + b"a" * (LIMIT + 1),
             slack_sign(b"text=" + b"a" * (LIMIT + 1)), 413, "body"),
    ]  # fmt: skip


def mattermost_cases() -> list[Case]:
    auth = {"Authorization": f"Token {COMMAND_TOKEN}"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    signed = {"action": "ack", "alert_id": 1}
    return [
        Case("mm command: token in the wrong scheme and the form", "/mattermost/command",
             mm_form("ack 1", token="wrong"), {**form, "Authorization": "Basic " + COMMAND_TOKEN},
             401, "invalid command token"),
        Case("mm command: non-ASCII token", "/mattermost/command", mm_form("ack 1"),
             {**form, "Authorization": "Token tökén"}, 401, "invalid command token"),
        Case("mm command: multipart without boundary", "/mattermost/command", b"--x--",
             {**auth, "Content-Type": "multipart/form-data"}, 400, "form"),
        # aiohttp decodes a form leniently (U+FFFD for bytes that are not UTF-8).
        Case("mm command: form not UTF-8", "/mattermost/command",
             b"text=%FF%FE&command=/perf&user_id=" + mattermost.ALICE_ID.encode(),
             {**auth, **form}, 200, "unknown command"),
        Case("mm command: no user id", "/mattermost/command", b"text=alerts&command=/perf",
             {**auth, **form}, 200, "no valid user id"),
        Case("mm command: oversized", "/mattermost/command", b"text=" + b"a" * (LIMIT + 1),
             {**auth, **form}, 413, "body"),
        Case("mm click: not JSON", "/mattermost/actions", b"{context",
             {"Content-Type": "application/json"}, 400, "JSON"),
        Case("mm click: deeply nested", "/mattermost/actions", b"[" * 60_000,
             {"Content-Type": "application/json"}, 400, "JSON"),
        Case("mm click: oversized", "/mattermost/actions", b"[" + b"1," * LIMIT + b"1]",
             {"Content-Type": "application/json"}, 413, "body"),
        # Clicks whose context does not verify are answered 200 with an ephemeral text, the
        # only answer Mattermost shows the clicker (it drops the body of any other status).
        Case("mm click: list body", "/mattermost/actions", b"[1, 2]", {}, 200, "could not verify"),
        Case("mm click: signature not ASCII", "/mattermost/actions",
             mm_click({**signed, "sig": "é" * 64}), {}, 200, "could not verify"),
        Case("mm click: alert id a superscript digit", "/mattermost/actions",
             mm_click({**signed, "alert_id": "²", "sig": "0" * 64}), {}, 200, "could not verify"),
        Case("mm click: alert id an object", "/mattermost/actions",
             mm_click({**signed, "alert_id": {"$gt": 0}, "sig": "0" * 64}), {}, 200,
             "could not verify"),
        Case("mm click: action a list", "/mattermost/actions",
             mm_click({**signed, "action": ["ack"], "sig": "0" * 64}), {}, 200, "could not verify"),
    ]  # fmt: skip


def ingest_cases() -> list[Case]:
    metric, merge = GOOD_METRIC, GOOD_MERGE
    cases = [
        ("NUL in operation_type", [{**metric, "operation_type": "com\x00mit"}], 422, "operation_type"),
        ("lone surrogate", [{**metric, "operation_type": "\ud800"}], 400, "malformed JSON"),
        ("NUL in branch", [{**metric, "branch": "main\x00"}], 422, "branch"),
        ("duration a boolean", [{**metric, "duration_ms": True}], 422, "duration_ms"),
        ("duration an object", [{**metric, "duration_ms": {"$gt": 1}}], 422, "duration_ms"),
        ("duration negative", [{**metric, "duration_ms": -1}], 422, "duration_ms"),
        ("duration huge", [{**metric, "duration_ms": 1e400}], 422, "duration_ms"),
        ("timestamp without zone", [{**metric, "recorded_at": "2026-01-01T00:00:00"}], 422, "recorded_at"),
        ("timestamp a list", [{**metric, "recorded_at": [2026]}], 422, "recorded_at"),
        ("timestamp year 1", [{**metric, "recorded_at": "0001-01-01T00:00:00Z"}], 422, "before 1970"),
        ("timestamp year 10000", [{**metric, "recorded_at": "10000-01-01T00:00:00Z"}], 422, "recorded_at"),
        ("unknown field", [{**metric, "host": "db1"}], 422, "host"),
        ("operation SQL", [{**metric, "operation_type": "x'); DROP TABLE perfbot.metrics; --", "duration_ms": "NaN"}], 422, "operation_type"),
        ("array of arrays", [[metric]], 422, "item 0"),
        ("a string", "commit,5,2026-01-01", 422, "JSON array"),
        ("null", None, 422, "JSON array"),
    ]  # fmt: skip
    out = [
        Case(f"metrics: {n}", "/api/v1/metrics", status=s, says=m, **as_json(v))
        for n, v, s, m in cases
    ]
    merge_cases = [
        ("NUL in branch", [{**merge, "source_branch": "f\x00"}], 422, "source_branch"),
        ("conflicts a float", [{**merge, "conflicts": 1.5}], 422, "conflicts"),
        ("status SQL", [{**merge, "status": "SUCCESS' OR '1'='1"}], 422, "status"),
        ("an object", merge, 422, "JSON array"),
    ]  # fmt: skip
    out += [
        Case(f"merges: {n}", "/api/v1/merges", status=s, says=m, **as_json(v))
        for n, v, s, m in merge_cases
    ]
    for path in ("/api/v1/metrics", "/api/v1/merges"):
        out += [
            Case(f"{path}: deeply nested", path, b"[" * 60_000, {"Content-Type": "application/json"}, 400, "recursion limit"),
            Case(f"{path}: not UTF-8", path, b'[{"operation_type": "\xff"}]', {"Content-Type": "application/json"}, 400, "malformed JSON"),
            Case(f"{path}: form body", path, b"operation_type=commit", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"),
            Case(f"{path}: oversized", path, b"[" + b"1," * LIMIT + b"1]", {"Content-Type": "application/json"}, 413, "larger than"),
            Case(f"{path}: GET", path, method="GET", status=405),
            Case(f"{path}: no token", path, **as_json([GOOD_METRIC]), status=401, says="Bearer", auth=False),
            Case(f"{path}: wrong token", path, as_json([GOOD_METRIC])["body"], {**JSON, "Authorization": "Bearer " + "x" * 41}, 401, "Bearer", auth=False),
            Case(f"{path}: token as Basic", path, as_json([GOOD_METRIC])["body"], {**JSON, "Authorization": f"Basic {INGEST_TOKEN}"}, 401, "Bearer", auth=False),
            Case(f"{path}: a Slack signature instead", path, as_json([GOOD_METRIC])["body"], {**JSON, **slack_sign(b"[]")}, 401, "Bearer", auth=False),
        ]  # fmt: skip
    return out


def other_cases() -> list[Case]:
    return [
        Case("healthz: POST", "/healthz", b"{}", {"Content-Type": "application/json"}, 405),
        Case("metrics: POST", "/metrics", b"x", {}, 405),
        Case("unknown path", "/api/v1/../../etc/passwd", method="GET", status=404),
    ]


def signed_now() -> list[Case]:
    return slack_cases() + mattermost_cases() + ingest_cases() + other_cases()


@dataclass
class Running:
    bot: PerfbotProcess
    slack: SlackFake
    store: Store


@pytest.fixture
async def running(store: Store, db_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    async with (
        SlackFake(token=SLACK_BOT_TOKEN) as slack_fake,
        MattermostFake(token=MM_BOT_TOKEN) as mattermost_fake,
    ):
        config = {
            "http": {"max_body_bytes": LIMIT},
            "detection": {"interval": "1h"},
            "schedules": {"escalate": "1h"},
            "channels": {
                "hook": {
                    "type": "webhook",
                    "url": "http://127.0.0.1:9/hook",
                    "secret": HOOK_SECRET,
                },
                "pager": {"type": "pagerduty"},
                "mail": {"type": "email", "to": ["oncall@perfbot.test"]},
            },
            "permissions": {"ack": ["*"], "escalate": ["*"], "silence": ["*"], "resolve": ["*"]},
        }
        env = perfbot_env(slack_fake=slack_fake, mattermost_fake=mattermost_fake) | {
            "PERFBOT_SLACK__SIGNING_SECRET": SIGNING_SECRET,
            "PERFBOT_MATTERMOST__COMMAND_TOKEN": COMMAND_TOKEN,
            "PERFBOT_MATTERMOST__ACTIONS_SECRET": ACTIONS_SECRET,
            "PERFBOT_PAGERDUTY__ROUTING_KEY": ROUTING_KEY,
            "PERFBOT_EMAIL__HOST": "127.0.0.1",
            "PERFBOT_EMAIL__PORT": "9",
            "PERFBOT_EMAIL__USERNAME": "perfbot",
            "PERFBOT_EMAIL__PASSWORD": SMTP_PASSWORD,
            "PERFBOT_EMAIL__FROM": "perfbot@perfbot.test",
            "PERFBOT_LOG_LEVEL": "DEBUG",
        }
        async with PerfbotProcess(db_url, tmp_path, config, env) as bot:
            yield Running(bot, slack_fake, store)


async def row_counts(store: Store) -> dict[str, int]:
    async with store.connector.pool.acquire() as conn:
        rows = await conn.fetch(QUERIES["table_row_counts"])
    return {r["name"]: r["n"] for r in rows if r["name"] != "job_runs"}


async def send(session: aiohttp.ClientSession, base: str, case: Case) -> tuple[int, str]:
    auth = AUTH if case.auth and case.path.startswith("/api/v1/") else {}
    async with session.request(
        case.method, base + case.path, data=case.body or None, headers=case.headers | auth
    ) as response:
        return response.status, await response.text()


async def test_bad_input_gets_a_clear_4xx_changes_nothing_and_leaks_no_secret(
    running: Running,
) -> None:
    before = await row_counts(running.store)
    answers: dict[str, tuple[int, str]] = {}
    async with aiohttp.ClientSession(
        trust_env=False, timeout=aiohttp.ClientTimeout(total=15)
    ) as session:
        cases = signed_now()  # signed now, not at collection: Slack allows 5 minutes of skew
        for case in cases:
            answers[case.name] = await send(session, running.bot.url, case)
    wrong = {
        c.name: answers[c.name]
        for c in cases
        if answers[c.name][0] != c.status or c.says not in answers[c.name][1]
    }
    assert wrong == {}, "\n".join(
        f"{name}: {status} {body[:200]}" for name, (status, body) in wrong.items()
    )
    assert await row_counts(running.store) == before
    leaked = [name for name, (_, body) in answers.items() if any(s in body for s in SECRETS)]
    assert leaked == []
    assert running.bot.process is not None
    assert running.bot.process.returncode is None
    assert await running.bot.stop() == 0
    log = running.bot.output()
    assert [s for s in SECRETS if s in log] == []
    assert "Traceback" not in log, log[-3000:]


HOSTILE = [
    "anomalies'; DROP TABLE perfbot.alerts; --",
    "ack 1 OR 1=1",
    "trends commit' UNION SELECT token FROM pg_authid --",
    "unack ١٢",
    "escalate ²",
    "trends com\x00mit",
    "anomalies \u202e\u0000\ufeff𝕔𝕠𝕞𝕞𝕚𝕥 🔥" + "é" * 2000,
    "baselines " + "ｃｏｍｍｉｔ",
    "merges --since 99999999999d",
    "route test severity=CRITICAL op=x%00y",
]


async def test_hostile_command_text_is_answered_and_changes_nothing(running: Running) -> None:
    """Authenticated users typing SQL, unicode and control characters: every command gets a
    reply that is not an internal error, and nothing is stored."""
    before = await row_counts(running.store)
    user = SlackUser(running.slack, f"{running.bot.url}/slack/events")
    async with aiohttp.ClientSession(
        trust_env=False, timeout=aiohttp.ClientTimeout(total=15)
    ) as session:
        for text in HOSTILE:
            response_url = running.slack.new_response_url()
            body = user.slash_body(text, response_url).encode()
            async with session.post(
                f"{running.bot.url}/slack/events", data=body, headers=slack_sign(body)
            ) as response:
                assert response.status == 200, text
            rid = response_url.rsplit("/", 1)[-1]

            async def replied(rid: str = rid) -> bool:
                return bool(running.slack.response_urls[rid].posts)

            await eventually(replied, within=10)
            [reply] = running.slack.response_urls[rid].posts
            assert "failed unexpectedly" not in reply["text"], (text, reply["text"])
            async with session.post(
                f"{running.bot.url}/mattermost/command",
                data=mm_form(text),
                headers={
                    "Authorization": f"Token {COMMAND_TOKEN}",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            ) as response:
                assert response.status == 200, text
                answer = await response.json()
            assert "failed unexpectedly" not in answer["text"], (text, answer["text"])
    assert await row_counts(running.store) == before
    assert await running.bot.stop() == 0
    log = running.bot.output()
    assert [s for s in SECRETS if s in log] == []
    assert "Traceback" not in log, log[-3000:]

"""Fuzzing the button and replay paths of perfbot's HTTP app (in-process, real store, one open
alert): random and tampered Mattermost contexts (any field changed, other or empty keys,
expired, bound elsewhere, wrong types) never act and never answer 500; a valid Mattermost click
sent twice runs once; any signed Slack command or interaction sent twice runs once."""

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from bot.app import Bot
from bot.chat.replay import ALREADY_HANDLED
from bot.clock import SystemClock
from bot.config import Settings
from bot.models import Alert
from bot.notify.mattermost_sign import Binding, action_context
from bot.store import Store
from tests.acceptance.slack_user import SIGNING_SECRET, signed_headers
from tests.factories import make_new_alert
from tests.fakes.slack import SlackFake

KEY = "fuzz-mm-bot-5ecret"
CHANNEL, POST = "chan0fuzz", "post0fuzz"
FIELDS = ("action", "alert_id", "version", "state", "exp", "channel", "post", "sig")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@pytest.fixture
async def alert(store: Store) -> Alert:
    now = datetime.now(UTC)
    async with store.alerts.transaction() as tx:
        return await tx.insert_alert(make_new_alert(created_at=now, updated_at=now))


@pytest.fixture
async def client(store: Store, slack_fake: SlackFake) -> AsyncIterator[TestClient]:
    settings = Settings.load(
        mattermost={"url": "http://127.0.0.1:9", "token": KEY, "actions_url": "http://x/a"},
        slack={
            "bot_token": slack_fake.token,
            "signing_secret": SIGNING_SECRET,
            "api_url": slack_fake.api_url,
        },
        permissions={"ack": ["*"], "escalate": ["*"], "silence": ["*"], "resolve": ["*"]},
    )
    bot = Bot.build(settings, store, SystemClock(), timeout=2.0)
    async with TestClient(TestServer(bot.http_app())) as c:
        yield c


def valid(alert: Alert, action: str = "ack", **overrides: Any) -> dict[str, Any]:
    alert_id = overrides.pop("alert_id", alert.id)
    fields: dict[str, Any] = {
        "version": alert.version,
        "state": alert.shown_state,
        "exp": int(time.time()) + 3600,
        "binding": Binding("channel", CHANNEL),
    }
    fields.update(overrides)
    return action_context(KEY, action, alert_id, **fields)


def empty_key_sig(ctx: dict[str, Any]) -> str:
    """What a context "signed" with an empty key would carry."""
    kind = "post" if "post" in ctx else "channel"
    message = json.dumps(
        ["perfbot-mm-v2", ctx["action"], ctx["alert_id"], ctx["version"], ctx["state"],
         ctx["exp"], kind, ctx[kind]],
        separators=(",", ":"),
    )  # fmt: skip
    return hmac.new(b"", message.encode(), hashlib.sha256).hexdigest()


def other_key_sig(ctx: dict[str, Any]) -> str:
    binding = Binding("channel", CHANNEL)
    fields = {k: ctx[k] for k in ("version", "state", "exp")}
    signed = action_context("not-" + KEY, ctx["action"], ctx["alert_id"], binding=binding, **fields)
    return str(signed["sig"])


def normalized(ctx: dict[str, Any]) -> dict[str, Any]:
    """`ctx` with numbers given as digit strings made numbers (they verify as such)."""
    return {
        k: int(v)
        if k in ("alert_id", "version", "exp")
        and isinstance(v, str)
        and v.isascii()
        and v.isdigit()
        else v
        for k, v in ctx.items()
    }


tampering = st.one_of(
    # change or drop one or more fields
    st.dictionaries(st.sampled_from(FIELDS), st.one_of(json_values, st.just(None)), min_size=1),
    st.just("empty-key"),
    st.just("expired"),
    st.just("other-key"),
)


async def click(client: TestClient, body: Any) -> tuple[int, Any]:
    async with client.post("/mattermost/actions", json=body) as response:
        return response.status, await response.json()


async def footprint(store: Store, alert_id: int) -> tuple[int, int, int]:
    async with store.connector.pool.acquire() as conn:
        events = await conn.fetchval("SELECT count(*) FROM perfbot.alert_events")
        silences = await conn.fetchval("SELECT count(*) FROM perfbot.silences")
        version = await conn.fetchval("SELECT version FROM perfbot.alerts WHERE id = $1", alert_id)
    return events, silences, version


@examples(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    action=st.sampled_from(["ack", "unack", "escalate", "resolve", "silence1h"]),
    tamper=tampering,
    clicked_in=st.sampled_from([CHANNEL, "chan1other", None, 7]),
    user_id=st.one_of(st.just("u0alice"), json_values),
)
async def test_tampered_contexts_never_act_and_never_fail(
    client: TestClient,
    store: Store,
    alert: Alert,
    action: str,
    tamper: Any,
    clicked_in: Any,
    user_id: Any,
) -> None:
    base = valid(alert, action)
    ctx = dict(base)
    if tamper == "empty-key":
        ctx["sig"] = empty_key_sig(ctx)
    elif tamper == "expired":
        ctx = valid(alert, action, exp=int(time.time()) - 1)
    elif tamper == "other-key":
        ctx["sig"] = other_key_sig(ctx)
    else:
        for field, value in tamper.items():
            if value is None:
                ctx.pop(field, None)
            else:
                ctx[field] = value
        if clicked_in == CHANNEL and normalized(ctx) == base:
            return  # nothing signed was changed: that is the valid click
    before = await footprint(store, alert.id)
    status, answer = await click(
        client, {"user_id": user_id, "channel_id": clicked_in, "post_id": POST, "context": ctx}
    )
    assert status == 200
    assert isinstance(answer["ephemeral_text"], str)
    assert await footprint(store, alert.id) == before, (tamper, answer)


@examples(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    action=st.sampled_from(["ack", "unack", "escalate", "resolve", "silence1h"]),
    alert_id=st.integers(min_value=10**6, max_value=10**9),
    user_id=st.from_regex(r"\A[a-z0-9]{26}\Z"),  # a well-formed Mattermost user id
    exp_offset=st.integers(min_value=60, max_value=7 * 86400),
)
async def test_a_valid_click_sent_twice_runs_once(
    client: TestClient, alert: Alert, action: str, alert_id: int, user_id: str, exp_offset: int
) -> None:
    # an alert that does not exist: the click verifies and runs, but changes nothing
    ctx = valid(alert, action, alert_id=alert_id, exp=int(time.time()) + exp_offset)
    body = {"user_id": user_id, "channel_id": CHANNEL, "post_id": POST, "context": ctx}
    status, first = await click(client, body)
    assert status == 200
    if first["ephemeral_text"] == ALREADY_HANDLED:
        return  # hypothesis replayed an example it had sent before: that is a replay too
    assert str(alert_id) in first["ephemeral_text"], first
    status, again = await click(client, body)
    assert (status, again) == (200, {"ephemeral_text": ALREADY_HANDLED})


slack_bodies = st.one_of(
    st.fixed_dictionaries(
        {"command": st.just("/perf"), "text": st.text(max_size=40)},
        optional={"user_id": st.text(max_size=12), "response_url": st.text(max_size=20)},
    ),
    st.fixed_dictionaries(
        {
            "payload": st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["block_actions", "view_submission", "shortcut"]),
                    "user": st.fixed_dictionaries({"id": st.text(max_size=12)}),
                    "actions": st.lists(
                        st.fixed_dictionaries(
                            {
                                "action_id": st.sampled_from(
                                    [
                                        "perf_ack",
                                        "perf_escalate",
                                        "perf_resolve",
                                        "perf_silence_1h",
                                        "other",
                                    ]
                                ),
                                "value": st.text(max_size=8),
                            }
                        ),
                        min_size=1,
                        max_size=2,
                    ),
                }
            ).map(json.dumps)
        }
    ),
)


@examples(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(form=slack_bodies, nonce=st.uuids())
async def test_a_signed_slack_request_sent_twice_runs_once(
    client: TestClient, form: dict[str, str], nonce: object
) -> None:
    body = urlencode({**form, "trigger_id": str(nonce)})
    headers = signed_headers(body)
    answers = []
    for _ in range(2):
        async with client.post("/slack/events", data=body.encode(), headers=headers) as response:
            answers.append((response.status, await response.text()))
    assert answers[0][0] < 500, answers
    if answers[0][0] == 400:  # a body Bolt cannot use is refused before it is remembered
        assert answers[1] == answers[0]
        return
    command = "command" in form
    assert answers[1] == (200, ALREADY_HANDLED if command else ""), answers


async def test_an_unsigned_ssl_check_shaped_like_a_command_is_not_gated(
    client: TestClient,
) -> None:
    body = urlencode({"ssl_check": "1", "command": "/perf", "text": "help"})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(2):  # Bolt answers ssl_check itself and runs nothing, every time
        async with client.post("/slack/events", data=body.encode(), headers=headers) as response:
            assert (response.status, await response.text()) == (200, "")

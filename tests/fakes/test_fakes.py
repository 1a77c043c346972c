"""The stand-ins themselves: they must answer real clients (slack-sdk, mattermostdriver, aiohttp)
the way the real services do, or every test built on them proves nothing."""

import asyncio
import subprocess
import sys
import time

import aiohttp
import pytest
import requests
from mattermostdriver import Driver
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes import slack
from tests.fakes.mattermost import CHANNEL_ID, MattermostFake
from tests.fakes.pagerduty import ROUTING_KEY, PagerDutyFake, validate
from tests.fakes.server import free_port, serve_in_thread
from tests.fakes.slack import SlackFake


def _client(fake: SlackFake, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token or fake.token, base_url=fake.api_url, timeout=5)


async def test_slack_get_methods_and_query_arguments(slack_fake):
    client = _client(slack_fake)
    user = await client.users_info(user="U2147483697")
    assert user["user"]["name"] == "alice"
    info = await client.conversations_info(channel=slack.CHANNEL_ID)
    assert info["channel"]["name"] == "perf-alerts"
    listed = await client.conversations_list(types="public_channel")
    assert [c["id"] for c in listed["channels"]] == [slack.CHANNEL_ID]
    assert (await client.conversations_join(channel=slack.CHANNEL_ID))["ok"]
    assert (await client.conversations_open(users="U2147483697"))["channel"]["id"] == "D2147483697"
    assert (await client.auth_test())["user_id"] == slack.BOT_USER_ID
    assert slack_fake.calls_to("users.info")[0].verb == "GET"
    assert slack_fake.calls_to("auth.test")[0].verb == "POST"


async def test_slack_ts_increase_and_history(slack_fake):
    client = _client(slack_fake)
    first = await client.chat_postMessage(channel=slack.CHANNEL_ID, text="one")
    second = await client.chat_postMessage(channel=slack.CHANNEL_ID, text="two")
    assert float(second["ts"]) > float(first["ts"])
    assert len(first["ts"].split(".")[1]) == 6
    history = await client.conversations_history(channel=slack.CHANNEL_ID, limit=1)
    assert [m["text"] for m in history["messages"]] == ["two"]
    assert history["has_more"]


@pytest.mark.parametrize(("token", "error"), [("", "not_authed"), ("xoxb-nope", "invalid_auth")])
async def test_slack_checks_the_token(slack_fake, token, error):
    client = AsyncWebClient(token=token or None, base_url=slack_fake.api_url)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=slack.CHANNEL_ID, text="x")
    assert caught.value.response["error"] == error


async def test_slack_missing_scope_names_the_needed_one(slack_fake):
    slack_fake.scopes.discard("chat:write")
    with pytest.raises(SlackApiError) as raised:
        await _client(slack_fake).chat_postMessage(channel=slack.CHANNEL_ID, text="x")
    data = raised.value.response.data
    assert data["error"] == "missing_scope"
    assert data["needed"] == "chat:write"
    assert "chat:write" not in data["provided"].split(",")


@pytest.mark.parametrize(
    ("private", "public_scope", "error"),
    [(False, False, "not_in_channel"), (True, True, "channel_not_found"), (False, True, None)],
)
async def test_slack_membership(slack_fake, private, public_scope, error):
    slack_fake.channels[slack.CHANNEL_ID] |= {"is_member": False, "is_private": private}
    if not public_scope:
        slack_fake.scopes.discard("chat:write.public")
    client = _client(slack_fake)
    if error is None:
        assert (await client.chat_postMessage(channel=slack.CHANNEL_ID, text="x"))["ok"]
        return
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=slack.CHANNEL_ID, text="x")
    assert raised.value.response["error"] == error


async def test_slack_update_unknown_message(slack_fake):
    with pytest.raises(SlackApiError) as caught:
        await _client(slack_fake).chat_update(channel=slack.CHANNEL_ID, ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"


async def test_slack_response_url_allows_five_posts(slack_fake):
    url = slack_fake.new_response_url()
    hook = AsyncWebhookClient(url)
    statuses = [(await hook.send(text=f"reply {i}")).status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]
    rid = url.rsplit("/", 1)[1]
    assert [p["text"] for p in slack_fake.response_urls[rid].posts] == [
        f"reply {i}" for i in range(5)
    ]


async def test_slack_response_url_expires(slack_fake):
    url = slack_fake.new_response_url()
    slack_fake.response_urls[url.rsplit("/", 1)[1]].created -= 31 * 60
    response = await AsyncWebhookClient(url).send(text="late")
    assert (response.status_code, response.body) == (404, "expired_url")


async def test_slack_rate_limit_then_recovery(slack_fake):
    slack_fake.fail(429, retry_after=3, times=2)
    client = _client(slack_fake)
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            await client.auth_test()
        assert caught.value.response.status_code == 429
        assert caught.value.response.headers["Retry-After"] == "3"
        assert caught.value.response["error"] == "ratelimited"
    assert (await client.auth_test())["ok"]


async def test_slack_socket_mode_url_needs_the_app_token(slack_fake):
    response = await _client(slack_fake, slack_fake.app_token).apps_connections_open(
        app_token=slack_fake.app_token
    )
    assert response["url"].startswith("ws://127.0.0.1:")


def test_mattermost_driver_full_update_and_hooks():
    fake = MattermostFake()
    with serve_in_thread(fake):
        driver = Driver(
            {
                "url": "127.0.0.1",
                "scheme": "http",
                "port": fake.port,
                "token": fake.token,
                "request_timeout": 5,
            }
        )
        driver.login()
        post = driver.posts.create_post(options={"channel_id": CHANNEL_ID, "message": "hi"})
        updated = driver.posts.update_post(
            post["id"], options={"id": post["id"], "message": "edited", "props": {"a": 1}}
        )
        assert (updated["message"], updated["props"]) == ("edited", {"a": 1})
        assert driver.posts.get_post(post["id"])["message"] == "edited"
        assert driver.webhooks.call_webhook("hook1", options={"text": "hello"}).text == "ok"
        with pytest.raises(requests.HTTPError):
            driver.posts.create_post(
                options={"channel_id": CHANNEL_ID, "message": "x", "root_id": "missing"}
            )
    assert fake.hooks == [{"text": "hello"}]
    assert [c.method for c in fake.calls][:2] == ["GET /users/me", "POST /posts"]


async def test_mattermost_429_is_plain_text_with_reset(mattermost_fake):
    mattermost_fake.fail(429)
    async with (
        aiohttp.ClientSession(trust_env=False) as session,
        session.get(f"{mattermost_fake.url}/api/v4/users/me") as response,
    ):
        assert response.status == 429
        assert await response.text() == "limit exceeded"
        assert response.headers["X-Ratelimit-Reset"] == "1"


async def test_pagerduty_answers(pagerduty_fake):
    async with aiohttp.ClientSession(trust_env=False) as session:
        event = {
            "routing_key": ROUTING_KEY,
            "event_action": "trigger",
            "payload": {"summary": "s", "source": "perfbot", "severity": "error"},
        }
        async with session.post(pagerduty_fake.events_url, json=event) as response:
            assert response.status == 202
            body = await response.json()
            assert (body["status"], body["message"]) == ("success", "Event processed")
            assert body["dedup_key"]
        async with session.post(
            pagerduty_fake.events_url, json={**event, "event_action": "page"}
        ) as response:
            assert response.status == 400
            assert (await response.json())["status"] == "invalid event"


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({"routing_key": "x" * 31, "event_action": "resolve", "dedup_key": "d"}, "routing_key"),
        ({"routing_key": ROUTING_KEY, "event_action": "acknowledge"}, "dedup_key"),
        (
            {
                "routing_key": ROUTING_KEY,
                "event_action": "trigger",
                "payload": {"summary": "s", "source": "p", "severity": "high"},
            },
            "severity",
        ),
        (
            {
                "routing_key": ROUTING_KEY,
                "event_action": "trigger",
                "payload": {"summary": "s" * 1025, "source": "p", "severity": "info"},
            },
            "1024",
        ),
        ({"routing_key": ROUTING_KEY, "event_action": "trigger"}, "payload"),
    ],
)
def test_pagerduty_validation(event, problem):
    assert any(problem in p for p in validate(event))


def test_slack_fake_runs_as_a_process(no_proxy):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.slack", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"http://127.0.0.1:{port}"
        answer = requests.post(
            f"http://127.0.0.1:{port}/api/auth.test",
            headers={"Authorization": f"Bearer {slack.BOT_TOKEN}"},
            timeout=5,
        )
        assert answer.json()["ok"]
    finally:
        process.terminate()
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()
    assert process.returncode == 0


async def test_down_refuses_connections_and_up_restores_state():
    fake = PagerDutyFake()
    async with fake:
        fake.incidents["k"] = "triggered"
        await fake.down()
        async with aiohttp.ClientSession(trust_env=False) as session:
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.post(fake.events_url, json={})
        await fake.up()
        assert fake.incidents == {"k": "triggered"}
        async with (
            aiohttp.ClientSession(trust_env=False) as session,
            session.post(fake.events_url, json={}) as response,
        ):
            assert response.status == 400


async def test_wait_for_call_sees_later_requests(slack_fake):
    client = _client(slack_fake)
    started = time.monotonic()
    task = asyncio.create_task(slack_fake.wait_for_call("auth.test"))
    await client.auth_test()
    assert len(await task) == 1
    assert time.monotonic() - started < 2

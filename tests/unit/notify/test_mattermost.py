"""MattermostNotifier against the Mattermost stand-in, and a simulated button click."""

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.errors import NotifyError
from bot.models import AlertStatus
from bot.notify.mattermost import BearerNoRedirects, MattermostNotifier, driver_options
from bot.notify.mattermost_sign import Refused, Signer, check_click
from tests.fakes.mattermost import CHANNEL_ID, MattermostFake
from tests.fakes.server import FakeServer
from tests.unit.notify.factories import make_alert, make_notification, make_series

SECRET = "actions-secret"


def notifier(
    fake: MattermostFake,
    *,
    actions_url: str | None = "http://127.0.0.1:9/mattermost/actions",
    token: str | None = None,
    channel_id: str = CHANNEL_ID,
    timeout: float = 2.0,
) -> MattermostNotifier:
    return MattermostNotifier(
        "oncall-mm",
        channel_id,
        url=fake.url,
        token=token or fake.token,
        actions_url=actions_url,
        signer=Signer(SECRET, 3600),
        timeout=timeout,
    )


def test_driver_options_from_url():
    options = driver_options("http://127.0.0.1:8065", "t", 3.0)
    assert isinstance(options.pop("auth")(), BearerNoRedirects)
    assert options == {
        "url": "127.0.0.1",
        "scheme": "http",
        "port": 8065,
        "basepath": "/api/v4",
        "token": "t",
        "timeout": 3.0,
        "request_timeout": 3.0,
        "verify": True,
    }
    options = driver_options("https://chat.example.com/mm/", "t", 3.0)
    assert (options["scheme"], options["url"], options["port"], options["basepath"]) == (
        "https",
        "chat.example.com",
        443,
        "/mm/api/v4",
    )


async def test_fired_logs_in_once_and_creates_the_post(mattermost_fake):
    mm = notifier(mattermost_fake)
    ref = await mm.send(make_notification())
    await mm.send(make_notification(alert=make_alert(id=43, fingerprint="anomaly:merge")))
    assert len(mattermost_fake.calls_to("GET /users/me")) == 1
    assert ref is not None
    post = mattermost_fake.posts[ref["post_id"]]
    assert post["channel_id"] == CHANNEL_ID
    (attachment,) = post["props"]["attachments"]
    assert [a["id"] for a in attachment["actions"]] == ["ack", "escalate", "resolve", "silence1h"]
    call = mattermost_fake.calls_to("POST /posts")[0]
    assert call.headers["Authorization"] == f"Bearer {mattermost_fake.token}"


async def test_state_change_patches_the_post(mattermost_fake):
    mm = notifier(mattermost_fake)
    ref = await mm.send(make_notification())
    acked = make_alert(status=AlertStatus.ACKNOWLEDGED, acknowledged_by="alice")
    assert await mm.send(make_notification("acknowledged", acked, previous=ref)) == ref
    assert ref is not None
    assert len(mattermost_fake.calls_to("PUT /posts/{id}/patch")) == 1
    assert len(mattermost_fake.posts) == 1
    post = mattermost_fake.posts[ref["post_id"]]
    assert post["edit_at"] > 0
    assert [a["id"] for a in post["props"]["attachments"][0]["actions"]] == [
        "unack",
        "escalate",
        "resolve",
        "silence1h",
    ]


async def test_repeat_replies_in_the_thread(mattermost_fake):
    mm = notifier(mattermost_fake)
    ref = await mm.send(make_notification())
    assert ref is not None
    await mm.send(
        make_notification(
            "escalated", make_alert(escalation_step=1), previous=ref, mention=("dba-oncall",)
        )
    )
    (reply,) = mattermost_fake.thread(ref["post_id"])
    assert reply["message"].startswith(
        "@dba-oncall :rotating_light: commit latency anomaly (#42): escalated to step 1 of 2: "
        "notified dba-pager; mentioned dba-oncall"
    )


async def test_post_gone_is_posted_anew(mattermost_fake):
    ref = await notifier(mattermost_fake).send(
        make_notification("updated", previous={"post_id": "gone"})
    )
    assert ref is not None
    assert ref["post_id"] in mattermost_fake.posts


async def test_chart_is_uploaded_into_the_thread(mattermost_fake):
    ref = await notifier(mattermost_fake, timeout=30.0).send(
        make_notification(series=make_series())
    )
    assert ref is not None
    (reply,) = mattermost_fake.thread(ref["post_id"])
    (file_id,) = reply["file_ids"]
    assert mattermost_fake.files[file_id]["content"].startswith(b"\x89PNG")
    assert mattermost_fake.files[file_id]["name"] == "perfbot-alert-42.png"


async def test_failed_chart_keeps_the_alert(mattermost_fake, caplog):
    mattermost_fake.fail(500, path_prefix="/api/v4/files")
    with caplog.at_level(logging.WARNING, logger="bot.notify.mattermost"):
        ref = await notifier(mattermost_fake, timeout=30.0).send(
            make_notification(series=make_series())
        )
    assert ref is not None
    assert len(mattermost_fake.posts) == 1
    assert any(getattr(r, "action", None) == "mattermost_chart_failed" for r in caplog.records)


async def test_rate_limit_is_retryable_with_reset(mattermost_fake):
    mattermost_fake.fail(429)
    with pytest.raises(NotifyError) as caught:
        await notifier(mattermost_fake).send(make_notification())
    assert caught.value.status == 429
    assert caught.value.retry_after == 1.0
    assert not caught.value.permanent
    assert "limit exceeded" in caught.value.reason


async def test_server_error_is_retryable(mattermost_fake):
    mattermost_fake.fail(502)
    with pytest.raises(NotifyError) as caught:
        await notifier(mattermost_fake).send(make_notification())
    assert not caught.value.permanent
    assert caught.value.status == 502


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [({"token": "wrong"}, 401), ({"channel_id": "unknownchannel0000000000000"}, 403)],
)
async def test_client_errors_are_permanent(mattermost_fake, kwargs, status):
    with pytest.raises(NotifyError) as caught:
        await notifier(mattermost_fake, **kwargs).send(make_notification())
    assert caught.value.permanent
    assert caught.value.status == status


async def test_bad_request_is_permanent(mattermost_fake):
    mattermost_fake.fail(400, path_prefix="/api/v4/posts")
    with pytest.raises(NotifyError) as caught:
        await notifier(mattermost_fake).send(make_notification())
    assert caught.value.permanent
    assert caught.value.status == 400


async def test_hang_times_out_retryably(mattermost_fake):
    mattermost_fake.hang(path_prefix="/api/v4/posts")
    with pytest.raises(NotifyError) as caught:
        await notifier(mattermost_fake, timeout=0.3).send(make_notification())
    assert not caught.value.permanent
    assert "no answer within 0.3 s" in caught.value.reason


async def test_down_is_retryable(mattermost_fake):
    await mattermost_fake.down()
    with pytest.raises(NotifyError) as caught:
        await notifier(mattermost_fake).send(make_notification())
    assert not caught.value.permanent
    assert "cannot reach Mattermost" in caught.value.reason


class ActionsEndpoint(FakeServer):
    """What the Mattermost front end's `POST /mattermost/actions` does with a click, reduced
    to the signature check: refuse forged contexts, else answer an update."""

    name = "actions"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/mattermost/actions", self._click)]

    async def _click(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        self.record_body = body
        try:
            click = check_click(
                SECRET,
                body.get("context"),
                body.get("post_id"),
                body.get("channel_id"),
                time.time(),
            )
        except Refused:
            return web.json_response({"error": {"message": "forged click"}}, status=403)
        action, alert_id = click.action, click.alert_id
        return web.json_response(
            {
                "update": {"message": f"{action} #{alert_id} by @{body['user_name']}", "props": {}},
                "ephemeral_text": "done",
            }
        )


@pytest.fixture
async def actions_endpoint(no_proxy: None) -> AsyncIterator[ActionsEndpoint]:
    async with ActionsEndpoint() as endpoint:
        yield endpoint


async def test_click_sends_the_signed_context_and_applies_the_update(
    mattermost_fake, actions_endpoint
):
    ref = await notifier(
        mattermost_fake, actions_url=f"{actions_endpoint.url}/mattermost/actions"
    ).send(make_notification())
    assert ref is not None
    result = await mattermost_fake.click(ref["post_id"], "ack")
    assert result.status == 200
    sent = actions_endpoint.record_body
    assert sent["post_id"] == ref["post_id"]
    assert sent["channel_id"] == CHANNEL_ID
    assert sent["user_name"] == "alice"
    assert sent["type"] == "button"
    assert sent["context"]["action"] == "ack"
    assert sent["context"]["alert_id"] == 42
    post = mattermost_fake.posts[ref["post_id"]]
    assert post["message"] == "ack #42 by @alice"
    assert post["props"] == {}  # buttons removed by the update


async def test_forged_click_is_refused(mattermost_fake, actions_endpoint):
    ref = await notifier(
        mattermost_fake, actions_url=f"{actions_endpoint.url}/mattermost/actions"
    ).send(make_notification())
    assert ref is not None
    forged = {"action": "ack", "alert_id": 7, "sig": "0" * 64}
    result = await mattermost_fake.click(ref["post_id"], "ack", context=forged)
    assert result.status == 403
    assert mattermost_fake.posts[ref["post_id"]]["props"]["attachments"]


async def test_click_on_non_alphanumeric_action_id_404s(mattermost_fake):
    ref = await notifier(mattermost_fake).send(make_notification())
    assert ref is not None
    assert (await mattermost_fake.click(ref["post_id"], "silence_1h")).status == 404

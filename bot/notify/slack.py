"""The `slack` channel: alert messages through slack-sdk's `AsyncWebClient`.

Events post, edit and reply as `bot.notify.chat_message` says: a new message is
`chat.postMessage`, an edit in place `chat.update` (the message is gone when Slack answers
`message_not_found`, `cant_update_message` or `edit_window_closed`), a thread reply
`chat.postMessage` with `thread_ts`, and the chart `files_upload_v2` into the thread; a failed
chart is logged, never fails or repeats the alert. The reference is
`{"channel": <channel id>, "ts": <message ts>}`.

Errors: HTTP 429 carries `Retry-After`; 5xx, timeouts and connection failures are retryable;
`ok: false` answers (`invalid_auth`, `channel_not_found`, …) are permanent, except Slack's own
transient ones. The client keeps only slack-sdk's connection-error retry (one immediate retry):
rate limits and server errors go back to the delivery worker, which owns backoff. A redirect
is never followed (a permanent error naming its host), and Slack's error text is kept only as
an `excerpt`."""

import asyncio
import functools
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot import charts, errors
from bot.excerpt import excerpt
from bot.notify import MessageRef, Notification, chat_message, rendering, slack_render
from bot.notify.http import RedirectRefused, no_redirects, retry_after_seconds

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


class SlackNotifier:
    def __init__(
        self,
        channel: str,
        destination: str,
        *,
        token: str,
        api_url: str,
        timeout: float,
        charts_enabled: bool = True,
    ) -> None:
        """`destination` is a channel id or `#name`; `api_url` is the Web API base
        (`https://slack.com/api/` or a stand-in); `timeout` bounds each API call, in seconds."""
        self._channel = channel
        self._destination = destination
        self._timeout = timeout
        self._charts = charts_enabled
        self._token = token
        self._api_url = api_url

    @asynccontextmanager
    async def _web(self) -> AsyncIterator[AsyncWebClient]:
        """A Web API client over a session of its own (as slack-sdk would open per call) that
        refuses redirects: slack-sdk cannot be told `allow_redirects=False`."""
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=max(1, math.ceil(self._timeout))),
            trace_configs=[no_redirects()],
        ) as session:
            yield AsyncWebClient(
                token=self._token,
                base_url=self._api_url,
                timeout=max(1, math.ceil(self._timeout)),
                session=session,
                # one quick retry of a dropped connection; no 429/5xx retries (see module doc)
                retry_handlers=[
                    AsyncConnectionErrorRetryHandler(
                        interval_calculator=FixedValueRetryIntervalCalculator(0.25)
                    )
                ],
            )

    @property
    def channel(self) -> str:
        return self._channel

    async def send(self, notification: Notification) -> MessageRef | None:
        """Post or edit the alert's message (`bot.notify.chat_message.deliver` says which);
        return `{"channel", "ts"}`. Raises NotifyError, or RenderError before any call."""
        with rendering(self._channel):
            message = slack_render.render(notification)
            reply = slack_render.thread_reply(notification)
        return await chat_message.deliver(
            notification,
            _ref(notification.previous),
            edit=lambda ref: self._update(notification, ref, message),
            reply=lambda ref: self._reply(ref, reply),
            post=lambda: self._post(notification, message),
            chart=functools.partial(self._post_chart, notification) if self._charts else None,
        )

    async def _update(
        self, notification: Notification, ref: dict[str, str], message: dict[str, Any]
    ) -> bool:
        """Edit the message in place; False when it is gone."""
        try:
            await self._call(
                "chat.update",
                lambda web: web.chat_update(channel=ref["channel"], ts=ref["ts"], **message),
            )
        except errors.NotifyError as exc:
            if not (exc.__cause__ and _api_error(exc.__cause__) in MESSAGE_GONE):
                raise
            logger.warning(
                "alert message gone, posting anew",
                extra={
                    "action": "slack_message_gone",
                    "channel": self._channel,
                    "alert_id": notification.alert.id,
                },
            )
            return False
        return True

    async def _reply(self, ref: dict[str, str], reply: dict[str, Any]) -> None:
        await self._call(
            "chat.postMessage",
            lambda web: web.chat_postMessage(channel=ref["channel"], thread_ts=ref["ts"], **reply),
        )

    async def _post(self, notification: Notification, message: dict[str, Any]) -> dict[str, str]:
        response = await self._call(
            "chat.postMessage",
            lambda web: web.chat_postMessage(
                channel=self._destination, unfurl_links=False, unfurl_media=False, **message
            ),
        )
        ref = {"channel": str(response["channel"]), "ts": str(response["ts"])}
        logger.info(
            "alert posted to slack",
            extra={
                "action": "slack_posted",
                "channel": self._channel,
                "alert_id": notification.alert.id,
            },
        )
        return ref

    async def _post_chart(
        self, notification: Notification, ref: dict[str, str], series: charts.Series
    ) -> None:
        """Upload the latency chart into the alert's thread; log, never raise, on failure."""
        alert = notification.alert
        try:
            png = await asyncio.wait_for(
                asyncio.to_thread(charts.latency_png, series), self._timeout
            )
            async with self._web() as web:
                await asyncio.wait_for(
                    web.files_upload_v2(
                        channel=ref["channel"],
                        thread_ts=ref["ts"],
                        content=png,
                        filename=f"perfbot-alert-{alert.id}.png",
                        title=f"{series.operation_type} latency vs baseline",
                    ),
                    # three requests: get the upload URL, upload, complete
                    3 * self._timeout,
                )
        except (
            SlackClientError,
            aiohttp.ClientError,
            TimeoutError,
            OSError,
            ValueError,
            RuntimeError,
        ) as exc:
            logger.warning(
                "chart upload failed",
                extra={
                    "action": "slack_chart_failed",
                    "channel": self._channel,
                    "alert_id": alert.id,
                    "error": f"{type(exc).__name__}: {excerpt(_api_error(exc) or str(exc))}",
                },
            )

    async def _call(
        self, method: str, call: Callable[[AsyncWebClient], Awaitable[AsyncSlackResponse]]
    ) -> AsyncSlackResponse:
        """Run one Web API call under the timeout; translate every failure into NotifyError."""
        try:
            async with self._web() as web:
                return await asyncio.wait_for(call(web), self._timeout)
        except SlackApiError as exc:
            raise self._api_failure(method, exc) from exc
        except TimeoutError as exc:
            raise errors.NotifyError(
                self._channel, f"{method}: no answer within {self._timeout:g} s"
            ) from exc
        except RedirectRefused as exc:
            raise errors.NotifyError(
                self._channel, f"{method}: {exc}", permanent=True, status=exc.status
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise errors.NotifyError(
                self._channel, f"{method}: cannot reach Slack: {type(exc).__name__}"
            ) from exc
        except SlackClientError as exc:
            raise errors.NotifyError(
                self._channel, f"{method}: {excerpt(str(exc))}", permanent=True
            ) from exc

    def _api_failure(self, method: str, exc: SlackApiError) -> errors.NotifyError:
        status = int(exc.response.status_code)
        code = excerpt(_api_error(exc)) or f"HTTP {status}"
        reason = f"{method}: {code}{_scopes(exc)}"
        if status == 429:
            headers = exc.response.headers
            retry_after = retry_after_seconds(headers.get("Retry-After"), headers.get("Date"))
            return errors.NotifyError(self._channel, reason, retry_after=retry_after, status=status)
        if status >= 500 or status == 408 or code in TRANSIENT_ERRORS:
            return errors.NotifyError(self._channel, reason, status=status)
        return errors.NotifyError(self._channel, reason, permanent=True, status=status)

    async def aclose(self) -> None:
        """Nothing to release: each call opens and closes its own session."""
        return


def _ref(previous: MessageRef | None) -> dict[str, str] | None:
    if (
        previous
        and isinstance(previous.get("channel"), str)
        and isinstance(previous.get("ts"), str)
    ):
        return {"channel": previous["channel"], "ts": previous["ts"]}
    return None


def _scopes(exc: SlackApiError) -> str:
    """` (needed: chat:write; provided: …)` for a `missing_scope` answer, which names the scope
    the method needs and those the token has; else empty."""
    data = exc.response.data
    if not isinstance(data, dict) or data.get("error") != "missing_scope":
        return ""
    needed = excerpt(str(data.get("needed") or "?"))
    provided = excerpt(str(data.get("provided") or "none"))
    return f" (needed: {needed}; provided: {provided})"


def _api_error(exc: BaseException) -> str | None:
    """Slack's `error` code (`channel_not_found`) of a SlackApiError, else None."""
    if isinstance(exc, SlackApiError) and isinstance(exc.response.data, dict):
        code = exc.response.data.get("error")
        return str(code) if code else None
    return None

"""The `mattermost` channel: alert posts through mattermostdriver's REST client.

mattermostdriver 7.3.2 is synchronous (requests), so every call runs in a worker thread under
`asyncio.wait_for(asyncio.to_thread(...), timeout)`, and requests itself gets the same timeout
so an abandoned thread ends too. The driver logs in lazily, once (`GET /users/me` with the bot
token).

Events post, edit and reply as `bot.notify.chat_message` says: a new post is
`POST /api/v4/posts` with the alert as an attachment and buttons, an edit in place
`PUT /api/v4/posts/{id}/patch` (the post is gone on a 404), a thread reply a post with
`root_id`, and the chart an upload (`POST /api/v4/files`) posted in the thread; a failed chart
is logged, never fails the alert. The reference is `{"post_id"}`.

Errors: connection failures, timeouts, 5xx and 429 (honouring `X-Ratelimit-Reset`) are
retryable; 400/401/403/404 and other 4xx are permanent. A redirect is never followed (a
permanent error naming its host): the driver is given a requests `auth` that sends the bot token
and refuses a 3xx before requests would follow it. Mattermost's error text is kept only as an
`excerpt`."""

import asyncio
import dataclasses
import functools
import logging
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import requests.auth
from mattermostdriver import Driver
from mattermostdriver import exceptions as mm_errors

from bot import charts, errors
from bot.excerpt import excerpt
from bot.notify import MessageRef, Notification, chat_message, escape, mattermost_render, rendering
from bot.notify.http import redirect_reason, retry_after_seconds
from bot.notify.mattermost_sign import Binding, Signer

logger = logging.getLogger(__name__)

T = TypeVar("T")

# mattermostdriver raises these for 400/401/403/404/405/413/501 without the response
DRIVER_ERRORS: tuple[tuple[type[requests.HTTPError], int], ...] = (
    (mm_errors.InvalidOrMissingParameters, 400),
    (mm_errors.NoAccessTokenProvided, 401),
    (mm_errors.NotEnoughPermissions, 403),
    (mm_errors.ResourceNotFound, 404),
    (mm_errors.MethodNotAllowed, 405),
    (mm_errors.ContentTooLarge, 413),
    (mm_errors.FeatureDisabled, 501),
)


PERSON_PREFIX = "mattermost:"
USERNAME = re.compile(r"[a-z0-9._-]{1,64}")


class RedirectRefused(requests.RequestException):
    """Mattermost answered with a redirect; it was not followed."""

    def __init__(self, status: int, location: str | None) -> None:
        self.status = status
        super().__init__(redirect_reason(status, location))


def _refuse_redirect(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A requests response hook: runs before requests follows a redirect."""
    if 300 <= response.status_code < 400:
        response.close()
        raise RedirectRefused(response.status_code, response.headers.get("Location"))


class BearerNoRedirects(requests.auth.AuthBase):
    """The bot token as `Authorization: Bearer` (mattermostdriver sends no header of its own
    when it is given an `auth`) and the hook that refuses redirects."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        request.register_hook("response", _refuse_redirect)  # type: ignore[no-untyped-call]
        return request


def driver_options(url: str, token: str, timeout: float) -> dict[str, Any]:
    """mattermostdriver's options from a server URL (`https://chat.example.com[:port][/base]`):
    host, scheme, port (default 443/80), `basepath` (the URL's path + `/api/v4`), token, the
    request timeout in seconds and the redirect-refusing `auth`."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if not parts.hostname:
        raise ValueError(f"not a Mattermost server URL: {url!r}")
    scheme = parts.scheme or "https"
    return {
        "url": parts.hostname,
        "scheme": scheme,
        "port": parts.port or (443 if scheme == "https" else 80),
        "basepath": parts.path.rstrip("/") + "/api/v4",
        "token": token,
        "timeout": timeout,
        "request_timeout": timeout,
        "verify": True,
        "auth": functools.partial(BearerNoRedirects, token),
    }


class MattermostNotifier:
    def __init__(
        self,
        channel: str,
        channel_id: str,
        *,
        url: str,
        token: str,
        actions_url: str | None,
        signer: Signer | None,
        timeout: float,
        charts_enabled: bool = True,
    ) -> None:
        self._channel = channel
        self._channel_id = channel_id
        self._actions_url = actions_url
        self._signer = signer
        self._timeout = timeout
        self._charts = charts_enabled
        self._driver = Driver(driver_options(url, token, timeout))
        self._logged_in = False
        self._login_lock = asyncio.Lock()

    @property
    def channel(self) -> str:
        return self._channel

    async def send(self, notification: Notification) -> MessageRef | None:
        """Create or patch the alert's post (`bot.notify.chat_message.deliver` says which);
        return `{"post_id"}`. Raises NotifyError, or RenderError before any call."""
        if any(m.startswith(PERSON_PREFIX) for m in notification.mention):
            notification = await self._usernames(notification)
        with rendering(self._channel):
            post = self._render(notification, Binding("channel", self._channel_id))
            reply = mattermost_render.thread_reply(notification)
        await self._login()
        previous = (notification.previous or {}).get("post_id")
        post_id = await chat_message.deliver(
            notification,
            previous if isinstance(previous, str) and previous else None,
            edit=lambda post_id: self._patch(
                notification, post_id, self._bound(notification, post_id)
            ),
            reply=lambda post_id: self._reply(post_id, reply),
            post=lambda: self._create(notification, post),
            chart=functools.partial(self._post_chart, notification) if self._charts else None,
        )
        return {"post_id": post_id}

    async def _usernames(self, notification: Notification) -> Notification:
        """`notification` with each person paged by escalation (`mattermost:<user id>`)
        turned into `@username`: Mattermost mentions by name only, and a name can change, so
        it is read from the server (`GET /api/v4/users/{id}`) when the message is sent."""
        await self._login()
        handles = []
        for handle in notification.mention:
            if not handle.startswith(PERSON_PREFIX):
                handles.append(handle)
                continue
            user_id = handle.removeprefix(PERSON_PREFIX)
            try:
                user = await self._run("get user", self._driver.users.get_user, user_id)
            except errors.NotifyError as exc:
                if exc.status != 404:
                    raise
                logger.warning(
                    "paged person not on mattermost",
                    extra={"action": "mattermost_user_missing", "channel": self._channel},
                )
                continue
            name = str(user.get("username") or "")
            if USERNAME.fullmatch(name):
                handles.append(f"@{name}")
        return dataclasses.replace(notification, mention=tuple(handles))

    def _bound(self, notification: Notification, post_id: str) -> dict[str, Any]:
        """The post for an edit, its buttons bound to the post itself."""
        with rendering(self._channel):
            return self._render(notification, Binding("post", post_id))

    def _render(self, notification: Notification, binding: Binding) -> dict[str, Any]:
        """The post, its buttons bound to `binding` and expiring from now."""
        return mattermost_render.render(
            notification,
            actions_url=self._actions_url,
            signer=self._signer,
            binding=binding,
            now=time.time(),
        )

    async def _patch(self, notification: Notification, post_id: str, post: dict[str, Any]) -> bool:
        """Edit the post in place; False when it is gone."""
        try:
            await self._run("patch post", self._driver.posts.patch_post, post_id, options=post)
        except errors.NotifyError as exc:
            if exc.status != 404:
                raise
            logger.warning(
                "alert post gone, posting anew",
                extra={
                    "action": "mattermost_post_gone",
                    "channel": self._channel,
                    "alert_id": notification.alert.id,
                },
            )
            return False
        return True

    async def _reply(self, post_id: str, message: str) -> None:
        reply = {"channel_id": self._channel_id, "root_id": post_id, "message": message}
        await self._run("reply", self._driver.posts.create_post, options=reply)

    async def _create(self, notification: Notification, post: dict[str, Any]) -> str:
        created = await self._run(
            "create post",
            self._driver.posts.create_post,
            options={"channel_id": self._channel_id, **post},
        )
        new_id = str(created["id"])
        logger.info(
            "alert posted to mattermost",
            extra={
                "action": "mattermost_posted",
                "channel": self._channel,
                "alert_id": notification.alert.id,
            },
        )
        return new_id

    async def _login(self) -> None:
        async with self._login_lock:
            if not self._logged_in:
                await self._run("login", self._driver.login)
                self._logged_in = True

    async def _post_chart(
        self, notification: Notification, root_id: str, series: charts.Series
    ) -> None:
        alert = notification.alert
        try:
            png = await asyncio.wait_for(
                asyncio.to_thread(charts.latency_png, series), self._timeout
            )
            uploaded = await self._run(
                "upload chart",
                self._driver.files.upload_file,
                self._channel_id,
                files={"files": (f"perfbot-alert-{alert.id}.png", png, "image/png")},
            )
            file_id = str(uploaded["file_infos"][0]["id"])
            message = f"{escape.mattermost(series.operation_type)} latency vs baseline"
            await self._run(
                "post chart",
                self._driver.posts.create_post,
                options={
                    "channel_id": self._channel_id,
                    "root_id": root_id,
                    "message": message,
                    "file_ids": [file_id],
                },
            )
        except (
            errors.NotifyError,
            TimeoutError,
            KeyError,
            IndexError,
            TypeError,
            ValueError,
            RuntimeError,
        ) as exc:
            logger.warning(
                "chart upload failed",
                extra={
                    "action": "mattermost_chart_failed",
                    "channel": self._channel,
                    "alert_id": alert.id,
                    "error": f"{type(exc).__name__}: {excerpt(str(exc))}",
                },
            )

    async def _run(self, what: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one blocking driver call in a thread, bounded by the timeout; translate errors."""
        call = functools.partial(func, *args, **kwargs)
        try:
            return await asyncio.wait_for(asyncio.to_thread(call), self._timeout)
        except (TimeoutError, requests.Timeout) as exc:
            # requests' own timeout and ours are the same bound; whichever fires first, the
            # destination did not answer in time
            raise errors.NotifyError(
                self._channel, f"{what}: no answer within {self._timeout:g} s"
            ) from exc
        except RedirectRefused as exc:
            raise errors.NotifyError(
                self._channel, f"{what}: {exc}", permanent=True, status=exc.status
            ) from exc
        except requests.HTTPError as exc:  # mattermostdriver's errors subclass it
            raise self._http_failure(what, exc) from exc
        except requests.RequestException as exc:
            raise errors.NotifyError(
                self._channel, f"{what}: cannot reach Mattermost: {type(exc).__name__}"
            ) from exc

    def _http_failure(self, what: str, exc: requests.HTTPError) -> errors.NotifyError:
        # the driver raises its own classes `from None` with the server's message and no
        # response; other statuses (429, 5xx) come as requests' HTTPError with the response
        response = exc.response
        status = next((code for kind, code in DRIVER_ERRORS if isinstance(exc, kind)), None)
        if status is None and response is not None:
            status = response.status_code
        body = excerpt(response.text if response is not None else str(exc))
        reason = f"{what}: HTTP {status} {body}".rstrip()
        if status == 429:
            headers = response.headers if response is not None else {}
            retry_after = retry_after_seconds(headers.get("Retry-After")) or retry_after_seconds(
                headers.get("X-Ratelimit-Reset")
            )
            return errors.NotifyError(self._channel, reason, retry_after=retry_after, status=status)
        if status is None or status == 408 or (status >= 500 and status != 501):
            return errors.NotifyError(self._channel, reason, status=status)
        return errors.NotifyError(self._channel, reason, permanent=True, status=status)

    async def aclose(self) -> None:
        """Nothing to release: requests opens a session per call."""
        return

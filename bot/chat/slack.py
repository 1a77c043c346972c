"""The Slack front end, on Bolt's `AsyncApp`: `/perf` slash commands and the buttons on alert
messages (block_actions `perf_ack`, `perf_unack`, `perf_escalate`, `perf_resolve`, `perf_silence_1h`).

HTTP mode serves `POST /slack/events` inside perfbot's aiohttp server; the signature and
timestamp are verified over the raw body before anything is parsed (`slack_request`: forged,
absent or older than 5 minutes: 401, nothing runs; a signed body Bolt cannot read: 400), and
Bolt verifies them again. With an app-level token (`PERFBOT_SLACK__APP_TOKEN`) Socket Mode
connects too, started and stopped with the server. A signed command or click runs once (its
signature is claimed in the database, `bot.chat.replay`; a replay runs nothing), and is
acknowledged at once; the work runs in a lazy listener that answers through the request's `response_url`: commands that change state
in channel, the rest ephemerally, button clicks ephemerally to the clicker. The alert messages
themselves are edited by the delivery outbox, on every platform.

Bolt runs lazy listeners as asyncio tasks; here they are tracked, and drained (bounded) when
the server stops. Bolt's loggers get a filter that masks tokens and secrets, and log only
warnings and errors."""

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.lazy_listener.async_internals import to_runnable_function
from slack_bolt.lazy_listener.async_runner import AsyncLazyListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat import replay, slack_reply, slack_request
from bot.commands import Commands, Reply
from bot.config import SlackSettings
from bot.models import ActorSource
from bot.notify import slack_render
from bot.routing.transition import Actor

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
API_TIMEOUT_S = 10
RESPOND_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 15.0
DRAIN_TIMEOUT_S = 5.0
RECONNECT_MAX_S = 60.0
MALFORMED = "malformed Slack request"

CLICKS = {
    slack_render.ACTION_ACK: "ack {id}",
    slack_render.ACTION_UNACK: "unack {id}",
    slack_render.ACTION_ESCALATE: "escalate {id}",
    slack_render.ACTION_RESOLVE: "resolve {id}",
    slack_render.ACTION_SILENCE_1H: "silence alert={id} 1h Silence 1h button",
}
_TOKENS = re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+")
_FORM_SECRETS = re.compile(r"\b(token|response_url)=[^&\s),]+")


class RedactSecrets(logging.Filter):
    """Masks the configured secrets, Slack tokens, and the `token`/`response_url` fields of
    request bodies (which Bolt logs on a bad signature) in every record it sees."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = message
        for secret in self._secrets:
            cleaned = cleaned.replace(secret, "***")
        cleaned = _FORM_SECRETS.sub(r"\1=***", _TOKENS.sub("***", cleaned))
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class TrackedLazyRunner(AsyncLazyListenerRunner):
    """Runs Bolt's lazy listeners as tasks kept in `tasks`, so that they can be awaited or
    cancelled on shutdown (Bolt's own runner leaves them unowned)."""

    def __init__(self, log: logging.Logger, tasks: set[asyncio.Task[None]]) -> None:
        self.logger = log
        self._tasks = tasks

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        runnable = to_runnable_function(internal_func=function, logger=self.logger, request=request)
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(runnable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def bolt_logger(settings: SlackSettings) -> logging.Logger:
    """The base logger Bolt copies into each of its loggers: warnings and up, secrets masked."""
    log = logging.getLogger("bot.chat.slack.bolt")
    log.setLevel(logging.WARNING)
    secrets = [
        s.get_secret_value()
        for s in (settings.bot_token, settings.signing_secret, settings.app_token)
        if s
    ]
    if not any(isinstance(f, RedactSecrets) for f in log.filters):
        log.addFilter(RedactSecrets(secrets))
    return log


def _actor(user_id: Any, user_name: Any) -> Actor:
    """Who asked: identified by the signed body's `user_id` (slash command) or `user.id` (click); the name is only shown beside the id
    (`Actor.ident`; a missing or malformed id is refused by `Commands.run`)."""
    return Actor(
        user_id=str(user_id) if user_id else None,
        user_name=str(user_name) if user_name else None,
        source=ActorSource.SLACK,
    )


Observe = Callable[[float], None]
"""Records how long a slash command took to acknowledge, in seconds (a metrics histogram)."""


class SlackFrontEnd:
    def __init__(
        self, commands: Commands, settings: SlackSettings, *, observe: Observe | None = None
    ) -> None:
        if settings.bot_token is None:
            raise ValueError("the Slack front end needs a bot token")
        self._commands = commands
        self._settings = settings
        self.replays: replay.ReplayGuard | None = None  # None: replays are not refused
        self._observe = observe
        self._tasks: set[asyncio.Task[None]] = set()
        self._socket: AsyncSocketModeHandler | None = None
        self._socket_task: asyncio.Task[None] | None = None
        log = bolt_logger(settings)
        client = AsyncWebClient(
            token=settings.bot_token.get_secret_value(),
            base_url=settings.api_url,
            timeout=API_TIMEOUT_S,
            logger=log,
        )
        signing = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
        self._signing_secret = signing
        self.app = AsyncApp(
            client=client,
            signing_secret=signing,
            logger=log,
            # Acks are immediate and all work is lazy, so Bolt may answer after the ack
            # function returns: no polling for the ack, no unowned listener task.
            process_before_response=True,
        )
        self.app.listener_runner.lazy_listener_runner = TrackedLazyRunner(log, self._tasks)
        self.app.command("/perf")(ack=self._ack, lazy=[self._answer_command])
        for action_id in CLICKS:
            self.app.action(action_id)(ack=self._ack, lazy=[self._answer_click])
        # URL buttons (runbooks, dashboards): Slack opens the link and reports the click too
        self.app.action(re.compile(rf"^{slack_render.ACTION_LINK}_[0-9]+$"))(self._ack)

    # ---- listeners ---------------------------------------------------------------------------

    async def _ack(self, ack: AsyncAck) -> None:
        await ack()

    async def _answer_command(
        self, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        user = _actor(command.get("user_id"), command.get("user_name"))
        reply = await self._commands.run(str(command.get("text") or ""), user, images=True)
        file_id = await self._upload(client, reply) if reply.image is not None else None
        plain = slack_reply.message(reply)
        payload = slack_reply.message(reply, image_file_id=file_id) if file_id else plain
        await self._respond(respond, payload, fallback=plain if file_id else None)

    async def _answer_click(
        self, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        who = body.get("user") or {}
        user = _actor(who.get("id"), who.get("username") or who.get("name"))
        template = CLICKS.get(str(action.get("action_id")))
        value = str(action.get("value") or "")
        if template is None or not value.isascii() or not value.isdigit():
            reply = Reply(
                text="This button does not name an alert; nothing was changed.", error=True
            )
        else:
            reply = await self._commands.run(template.format(id=value), user)
        payload = slack_reply.message(replace(reply, in_channel=False))
        await self._respond(respond, {**payload, "replace_original": False})

    # ---- Slack I/O ---------------------------------------------------------------------------

    async def _respond(
        self,
        respond: AsyncRespond,
        payload: dict[str, Any],
        *,
        fallback: dict[str, Any] | None = None,
    ) -> None:
        """Post to the response_url; when Slack refuses a reply with a chart, post it without."""
        for attempt in (payload, fallback):
            if attempt is None:
                return
            try:
                answer = await asyncio.wait_for(respond(**attempt), RESPOND_TIMEOUT_S)
            except (
                TimeoutError,
                aiohttp.ClientError,
                OSError,
                SlackClientError,
                ValueError,
            ) as exc:
                logger.warning(
                    "slack reply failed",
                    extra={"action": "slack_reply_failed", "error": type(exc).__name__},
                )
                return
            if answer.status_code == 200:
                return
            logger.warning(
                "slack refused the reply",
                extra={
                    "action": "slack_reply_refused",
                    "status": answer.status_code,
                    "body": answer.body[:200],
                },
            )

    async def _upload(self, client: AsyncWebClient, reply: Reply) -> str | None:
        """Upload the reply's chart as a file private to the bot; its id, or None on failure."""
        image = reply.image
        assert image is not None
        try:
            uploaded = await asyncio.wait_for(
                client.files_upload_v2(
                    content=image.png, filename=image.filename, title=image.title
                ),
                3 * API_TIMEOUT_S,
            )
        except (TimeoutError, SlackApiError, SlackClientError, aiohttp.ClientError, OSError) as exc:
            logger.warning(
                "chart upload failed",
                extra={"action": "slack_chart_failed", "error": type(exc).__name__},
            )
            return None
        file = uploaded.get("file") or {}
        return str(file["id"]) if isinstance(file, dict) and file.get("id") else None

    # ---- HTTP and life cycle -----------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        """`POST /slack/events`: checked here (signature first), then Bolt verifies, acks and
        dispatches."""
        started = time.perf_counter()
        bolt_request = await self._bolt_request(request)
        if isinstance(bolt_request, slack_request.Refusal):
            logger.warning(
                "slack request refused",
                extra={
                    "action": "slack_request_refused",
                    "reason": bolt_request.reason,
                    "remote": request.remote,
                },
            )
            return web.json_response({"error": bolt_request.error}, status=bolt_request.status)
        replayed = self.replays and await replay.slack_answer(
            self.replays, request, bolt_request.body
        )
        if replayed:
            return replayed
        answer = await self.app.async_dispatch(bolt_request)
        response = await to_aiohttp_response(answer)
        if self._observe is not None and "command" in bolt_request.body:
            self._observe(time.perf_counter() - started)
        return response

    async def _bolt_request(self, request: web.Request) -> AsyncBoltRequest | slack_request.Refusal:
        body = await request.read()
        refusal = slack_request.check(self._signing_secret, body, request.headers)
        if refusal is not None:
            return refusal
        try:
            parsed = AsyncBoltRequest(
                body=body.decode("utf-8"),
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError):
            # Bolt parses the payload and reads ids out of it while building the request.
            return slack_request.Refusal(400, MALFORMED, "payload not parseable")
        problem = slack_request.shape_problem(parsed.body)
        if problem is not None:
            return slack_request.Refusal(400, MALFORMED, problem)
        return parsed

    async def lifecycle(self, _: web.Application) -> AsyncIterator[None]:
        """aiohttp `cleanup_ctx`: Socket Mode up with the server, everything down after it."""
        if self._settings.app_token is not None:
            self._socket_task = asyncio.create_task(self._connect_socket_mode())
        yield
        await self.aclose()

    async def _connect_socket_mode(self) -> None:
        """Connect Socket Mode, retrying with backoff; once connected, slack-sdk's client
        reconnects by itself."""
        assert self._settings.app_token is not None
        handler = AsyncSocketModeHandler(
            self.app, self._settings.app_token.get_secret_value(), logger=self.app.logger
        )
        self._socket = handler
        delay = 1.0
        while True:
            try:
                connecting = handler.connect_async()  # type: ignore[no-untyped-call]
                await asyncio.wait_for(connecting, CONNECT_TIMEOUT_S)
            except (
                TimeoutError,
                SlackApiError,
                SlackClientError,
                aiohttp.ClientError,
                OSError,
            ) as exc:
                logger.warning(
                    "slack socket mode connection failed",
                    extra={
                        "action": "slack_socket_failed",
                        "error": type(exc).__name__,
                        "retry_s": delay,
                    },
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
            else:
                logger.info(
                    "slack socket mode connected", extra={"action": "slack_socket_connected"}
                )
                return

    async def aclose(self) -> None:
        """Stop Socket Mode, then let running replies finish (bounded) and cancel the rest."""
        if self._socket_task is not None:
            self._socket_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._socket_task
            self._socket_task = None
        if self._socket is not None:
            with contextlib.suppress(TimeoutError, aiohttp.ClientError, OSError):
                closing = self._socket.close_async()  # type: ignore[no-untyped-call]
                await asyncio.wait_for(closing, DRAIN_TIMEOUT_S)
            self._socket = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=DRAIN_TIMEOUT_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    async def drain(self, within: float = DRAIN_TIMEOUT_S) -> None:
        """Wait until every running reply is done (tests, benchmarks)."""
        async with asyncio.timeout(within):
            while self._tasks:
                await asyncio.wait(set(self._tasks))


SLACK_KEY = web.AppKey("slack_front_end", SlackFrontEnd)


def mount(
    app: web.Application,
    commands: Commands,
    settings: SlackSettings,
    *,
    observe: Observe | None = None,
    replays: replay.ReplayGuard | None = None,
) -> SlackFrontEnd | None:
    """Add the Slack front end to perfbot's HTTP app when a bot token and a signing secret (HTTP
    mode) or an app token (Socket Mode) are configured; None otherwise."""
    if settings.bot_token is None or (
        settings.signing_secret is None and settings.app_token is None
    ):
        return None
    front = SlackFrontEnd(commands, settings, observe=observe)
    front.replays = replays
    if settings.signing_secret is not None:
        app.router.add_post(EVENTS_PATH, front.handle)
    app.cleanup_ctx.append(front.lifecycle)
    app[SLACK_KEY] = front
    return front

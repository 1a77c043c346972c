"""The Mattermost front end: `POST /mattermost/command` answers the `/perf` slash command and
`POST /mattermost/actions` the buttons on alert posts (and on command replies).

A slash command is accepted only with the configured command token, given as
`Authorization: Token …` or as the form's `token` (constant-time compare; anything else gets
401 and runs nothing). It is answered in Mattermost's `CommandResponse` JSON: in channel for
commands that change state, ephemeral otherwise. A button click carries the signed context
perfbot put on the button (`bot.notify.mattermost_sign`); a context that does not verify, has
expired or is bound to another post or channel is refused with an `ephemeral_text` and changes
nothing. A click is executed once (its signature and clicker are claimed in the database,
`bot.chat.replay`); a click on a button drawn for another state of the alert is answered that
the alert changed. A click that passes runs the same command as typing it and answers the
clicker with an `ephemeral_text`; the alert's posts everywhere are edited by the delivery
outbox."""

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot import errors
from bot.chat import mattermost_reply
from bot.chat.replay import ALREADY_HANDLED, NO_DATABASE, ReplayGuard
from bot.commands import Commands
from bot.config import MattermostSettings
from bot.models import ActorSource, Alert
from bot.notify.mattermost_sign import Click, Refused, check_click, signer, stale
from bot.routing.transition import Actor

logger = logging.getLogger(__name__)

COMMAND_PATH = "/mattermost/command"
ACTIONS_PATH = "/mattermost/actions"

CLICKS = {
    "ack": "ack {id}",
    "unack": "unack {id}",
    "escalate": "escalate {id}",
    "resolve": "resolve {id}",
    "silence1h": "silence alert={id} 1h Silence 1h button",
}


def _actor(user_id: Any, user_name: Any) -> Actor:
    """Who asked: identified by `user_id` of the command form or of the click's action request; the name is only shown beside the id
    (`Actor.ident`; a missing or malformed id is refused by `Commands.run`)."""
    return Actor(
        user_id=str(user_id) if user_id else None,
        user_name=str(user_name) if user_name else None,
        source=ActorSource.MATTERMOST,
    )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class MattermostFrontEnd:
    def __init__(
        self,
        commands: Commands,
        settings: MattermostSettings,
        *,
        observe: Callable[[float], None] | None = None,
    ) -> None:
        self._commands = commands
        self._observe = observe
        self._command_token = settings.command_token
        self._signer = signer(settings)
        self._actions_url = settings.actions_url
        # set by `mount`: the replay memory and the alert lookup for stale buttons
        self.replays: ReplayGuard | None = None
        self.alerts: Callable[[int], Awaitable[Alert | None]] | None = None

    def _token_ok(self, request: web.Request, form: Any) -> bool:
        if self._command_token is None:
            return False
        expected = self._command_token.get_secret_value()
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "token" and value.strip():
            return _same(value.strip(), expected)
        token = form.get("token")
        return isinstance(token, str) and bool(token) and _same(token, expected)

    async def command(self, request: web.Request) -> web.Response:
        """`POST /mattermost/command`: the slash command, answered as a CommandResponse."""
        started = time.perf_counter()
        try:
            form = await request.post()
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "malformed form data"}, status=400)
        if not self._token_ok(request, form):
            logger.warning(
                "mattermost command refused: bad token",
                extra={"action": "mattermost_command_refused", "remote": request.remote},
            )
            return web.json_response({"error": "invalid command token"}, status=401)
        user = _actor(form.get("user_id"), form.get("user_name"))
        text, channel_id = form.get("text"), form.get("channel_id")
        reply = await self._commands.run(text if isinstance(text, str) else "", user)
        body = mattermost_reply.response(
            reply,
            actions_url=self._actions_url,
            signer=self._signer,
            channel_id=channel_id if isinstance(channel_id, str) else None,
            now=time.time(),
        )
        if self._observe is not None:
            self._observe(time.perf_counter() - started)
        return web.json_response(body)

    async def action(self, request: web.Request) -> web.Response:
        """`POST /mattermost/actions`: a button click, with the signed context verified."""
        try:
            data = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return web.json_response({"error": "expected a JSON body"}, status=400)
        if not isinstance(data, dict):
            data = {}
        try:
            click = check_click(
                self._signer.secret if self._signer is not None else None,
                data.get("context"),
                data.get("post_id"),
                data.get("channel_id"),
                time.time(),
            )
            await self._check_fresh(click, data)
        except Refused as refused:
            logger.warning(
                "mattermost click refused",
                extra={
                    "action": "mattermost_click_refused",
                    "reason": refused.reason,
                    "remote": request.remote,
                },
            )
            return web.json_response({"ephemeral_text": refused.reply})
        except errors.DatabaseUnavailable:
            logger.warning(
                "mattermost click refused: database unavailable",
                extra={"action": "mattermost_click_unchecked", "remote": request.remote},
            )
            return web.json_response({"ephemeral_text": NO_DATABASE})
        user = _actor(data.get("user_id"), data.get("user_name"))
        reply = await self._commands.run(CLICKS[click.action].format(id=click.alert_id), user)
        return web.json_response(mattermost_reply.ephemeral(reply))

    async def _check_fresh(self, click: Click, data: dict[str, Any]) -> None:
        """Raise Refused for a replay (this button, this clicker, seen before on any replica)
        or a button drawn for another state of the alert."""
        context = data["context"]
        if self.replays is not None and not await self.replays.first_time(
            "mattermost",
            (str(context["sig"]), str(data.get("user_id") or "")),
            float(context["exp"]),
            alert_id=click.alert_id,
            button=click.action,
        ):
            raise Refused("replayed", ALREADY_HANDLED)
        alert = await self.alerts(click.alert_id) if self.alerts is not None else None
        if alert is not None and stale(click, alert.version, alert.shown_state):
            raise Refused(
                "stale button",
                f"Alert #{alert.id} changed since this button was drawn (it is now "
                f"{alert.status.value}); nothing was changed. Its message is being updated.",
            )


def mount(
    app: web.Application,
    commands: Commands,
    settings: MattermostSettings,
    *,
    observe: Callable[[float], None] | None = None,
    replays: ReplayGuard | None = None,
    alerts: Callable[[int], Awaitable[Alert | None]] | None = None,
) -> MattermostFrontEnd | None:
    """Add the Mattermost routes that are configured: the slash command needs a command token,
    the buttons a non-empty signing key (`actions_secret` or the bot token). None if neither
    is. `replays` refuses clicks seen before, `alerts` (an alert by id) stale buttons."""
    front = MattermostFrontEnd(commands, settings, observe=observe)
    front.replays, front.alerts = replays, alerts
    mounted = False
    if settings.command_token is not None:
        app.router.add_post(COMMAND_PATH, front.command)
        mounted = True
    if signer(settings) is not None:
        app.router.add_post(ACTIONS_PATH, front.action)
        mounted = True
    return front if mounted else None

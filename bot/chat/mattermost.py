"""The Mattermost front end: `POST /mattermost/command` answers the `/perf` slash command and
`POST /mattermost/actions` the buttons on alert posts (and on command replies).

A slash command is accepted only with the configured command token, given as
`Authorization: Token …` or as the form's `token` (constant-time compare; anything else gets
401 and runs nothing). It is answered in Mattermost's `CommandResponse` JSON: in channel for
commands that change state, ephemeral otherwise. A button click carries the signed context
perfbot put on the button (`bot.notify.mattermost_sign`); a context that does not verify is
refused with an `ephemeral_text` and changes nothing. A verified click runs the same command
as typing it and answers the clicker with an `ephemeral_text`; the alert's posts everywhere
are edited by the delivery outbox."""

import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.chat import mattermost_reply
from bot.commands import Commands
from bot.config import MattermostSettings
from bot.models import ActorSource
from bot.notify.mattermost_sign import actions_secret, verify_context
from bot.routing.transition import Actor

logger = logging.getLogger(__name__)

COMMAND_PATH = "/mattermost/command"
ACTIONS_PATH = "/mattermost/actions"

CLICKS = {
    "ack": "ack {id}",
    "unack": "unack {id}",
    "escalate": "escalate {id}",
    "silence1h": "silence alert={id} 1h Silence 1h button",
}


def _actor(user_id: Any, user_name: Any) -> Actor:
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
        self._secret = actions_secret(settings)
        self._actions_url = settings.actions_url

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
        text = form.get("text")
        reply = await self._commands.run(text if isinstance(text, str) else "", user)
        body = mattermost_reply.response(reply, actions_url=self._actions_url, secret=self._secret)
        if self._observe is not None:
            self._observe(time.perf_counter() - started)
        return web.json_response(body)

    async def action(self, request: web.Request) -> web.Response:
        """`POST /mattermost/actions`: a button click, with the signed context verified."""
        try:
            data = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return web.json_response({"error": "expected a JSON body"}, status=400)
        context = data.get("context") if isinstance(data, dict) else None
        verified = (
            verify_context(self._secret, context)
            if self._secret is not None and isinstance(context, dict)
            else None
        )
        if verified is None:
            logger.warning(
                "mattermost click refused: context not signed by perfbot",
                extra={"action": "mattermost_click_refused", "remote": request.remote},
            )
            return web.json_response(
                {"ephemeral_text": "perfbot could not verify this button, so nothing was changed."}
            )
        action, alert_id = verified
        assert isinstance(data, dict)
        user = _actor(data.get("user_id"), data.get("user_name"))
        reply = await self._commands.run(CLICKS[action].format(id=alert_id), user)
        return web.json_response(mattermost_reply.ephemeral(reply))


def mount(
    app: web.Application,
    commands: Commands,
    settings: MattermostSettings,
    *,
    observe: Callable[[float], None] | None = None,
) -> MattermostFrontEnd | None:
    """Add the Mattermost routes that are configured: the slash command needs a command token,
    the buttons a signing key (`actions_secret` or the bot token). None if neither is."""
    front = MattermostFrontEnd(commands, settings, observe=observe)
    mounted = False
    if settings.command_token is not None:
        app.router.add_post(COMMAND_PATH, front.command)
        mounted = True
    if actions_secret(settings) is not None:
        app.router.add_post(ACTIONS_PATH, front.action)
        mounted = True
    return front if mounted else None

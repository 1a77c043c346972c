"""A stand-in for the Slack Web API that slack-sdk and Bolt can talk to
(`AsyncWebClient(base_url=fake.api_url)`, i.e. `PERFBOT_SLACK__API_URL`).

`/api/{method}` answers GET and POST, merging arguments from the query string, a form body and
a JSON body, as slack-sdk spreads them by method. `Authorization: Bearer <token>` is checked
(`not_authed` / `invalid_auth`). It keeps channels, users and messages, so that `chat.update`
of an unknown message fails as Slack's does. Files go through the v2 external upload
(`files.getUploadURLExternal`, `POST /upload/v1/{id}` with the raw bytes, then
`files.completeUploadExternal`); `files` holds the completed uploads. `new_response_url()`
hands out `response_url`s that accept 5 posts within 30 minutes. Socket Mode:
`apps.connections.open` (app token) hands out `ws://…/link/?ticket=…`; the WebSocket there
says `hello`, `socket_send(envelope)` pushes an envelope to every connected client, and the
clients' acknowledgements (`{"envelope_id", "payload"}`) land in `socket_acks`. Every request is recorded in
`calls`; `fail(429, retry_after=1)`, `fail(500)`, `hang()`, `down()`/`up()` script trouble
(faults apply to `/api/` only unless a `path_prefix` is given).

Scopes and membership as Slack checks them: a method whose scope (`SCOPES`) the token lacks
(`scopes`, default all the manifest's) answers `missing_scope` with `needed` and `provided`;
`chat.postMessage` into a channel whose `is_member` is false answers `not_in_channel` (public,
unless the token has `chat:write.public`) or `channel_not_found` (private: the bot cannot see
it)."""

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from tests.fakes.server import Call, FakeServer, Fault, main, respond

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
CHANNEL_ID = "C0PERF0001"
CHANNEL_NAME = "perf-alerts"
TEAM_ID = "T0001"
BOT_USER_ID = "U0BOT"
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60.0

# methods that need no token, or another kind of token
APP_LEVEL_METHODS = {"apps.connections.open"}
# the bot token scope each method needs (Slack's method reference)
SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "users.info": "users:read",
    "conversations.info": "channels:read",
    "conversations.join": "channels:join",
    "conversations.open": "im:write",
    "conversations.list": "channels:read",
    "conversations.history": "channels:history",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
ALL_SCOPES = frozenset({*SCOPES.values(), "commands", "chat:write.public"})


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    content: bytes = b""
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass
class ResponseUrl:
    id: str
    created: float
    posts: list[dict[str, Any]] = field(default_factory=list)


class SlackFake(FakeServer):
    name = "slack"

    def __init__(
        self, port: int | None = None, *, token: str = BOT_TOKEN, app_token: str = APP_TOKEN
    ) -> None:
        super().__init__(port)
        self.token = token
        self.app_token = app_token
        self.scopes: set[str] = set(ALL_SCOPES)
        self.channels: dict[str, dict[str, Any]] = {
            CHANNEL_ID: {
                "id": CHANNEL_ID,
                "name": CHANNEL_NAME,
                "is_channel": True,
                "is_private": False,
                "is_member": True,
            }
        }
        self.users: dict[str, dict[str, Any]] = {
            "U2147483697": {
                "id": "U2147483697",
                "team_id": TEAM_ID,
                "name": "alice",
                "real_name": "Alice A",
                "tz": "Europe/Berlin",
                "is_bot": False,
                "deleted": False,
                "profile": {
                    "display_name": "alice",
                    "real_name": "Alice A",
                    "email": "alice@example.com",
                },
            }
        }
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.files: dict[str, UploadedFile] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: list[dict[str, Any]] = []
        self._epoch = int(time.time())
        self._seq = 0

    @property
    def api_url(self) -> str:
        """What slack-sdk's `base_url` / `PERFBOT_SLACK__API_URL` should be."""
        return f"{self.url}/api/"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/api/{method}", self._api),
            web.post("/upload/v1/{file_id}", self._upload),
            web.post("/response/{rid}", self._response_url),
            web.get("/link/", self._socket),
        ]

    # -- helpers for tests ------------------------------------------------------------------

    def fail(self, status: int, *, path_prefix: str = "/api/", **kwargs: Any) -> None:
        super().fail(status, path_prefix=path_prefix, **kwargs)

    def hang(self, *, path_prefix: str = "/api/", **kwargs: Any) -> None:
        super().hang(path_prefix=path_prefix, **kwargs)

    def new_response_url(self) -> str:
        rid = uuid.uuid4().hex
        self.response_urls[rid] = ResponseUrl(rid, time.monotonic())
        return f"{self.url}/response/{rid}"

    async def socket_send(self, envelope: dict[str, Any]) -> int:
        """Push a Socket Mode envelope to every connected client; returns how many got it."""
        open_ = [ws for ws in self.sockets if not ws.closed]
        for ws in open_:
            await ws.send_json(envelope)
        return len(open_)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies posted in the thread of (channel, ts), oldest first."""
        return [
            m
            for (c, _), m in sorted(self.messages.items())
            if c == channel and m.get("thread_ts") == ts
        ]

    def fault_response(self, fault: Fault) -> web.Response:
        if fault.body is not None:
            return respond(fault.status, fault.body, fault.headers)
        error = "ratelimited" if fault.status == 429 else "internal_error"
        return respond(fault.status, {"ok": False, "error": error}, fault.headers)

    # -- handlers ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.read()
        args = _merged_args(request, body)
        self.record(Call(method, request.path, request.method, args, dict(request.headers), body))
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _answer({"ok": False, "error": "not_authed"})
        expected = self.app_token if method in APP_LEVEL_METHODS else self.token
        if auth.removeprefix("Bearer ") != expected:
            return _answer({"ok": False, "error": "invalid_auth"})
        handler = self._methods().get(method)
        if handler is None:
            return _answer({"ok": False, "error": "unknown_method"})
        needed = SCOPES.get(method)
        if needed is not None and needed not in self.scopes:
            return _answer(
                {
                    "ok": False,
                    "error": "missing_scope",
                    "needed": needed,
                    "provided": ",".join(sorted(self.scopes)),
                }
            )
        result: dict[str, Any] = handler(args)
        return _answer(result)

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        file_id = request.match_info["file_id"]
        self.record(Call("upload", request.path, request.method, {}, dict(request.headers), body))
        upload = self.files.get(file_id)
        if upload is None:
            return web.Response(status=404, text="not found")
        upload.content = body
        return web.Response(status=200, text=f"OK - {len(body)}", content_type="text/plain")

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.read()
        rid = request.match_info["rid"]
        self.record(
            Call("response_url", request.path, request.method, {}, dict(request.headers), body)
        )
        entry = self.response_urls.get(rid)
        if entry is None:
            return web.Response(status=404, text="no_such_url")
        if time.monotonic() - entry.created > RESPONSE_URL_TTL:
            return web.Response(status=404, text="expired_url")
        if len(entry.posts) >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        try:
            payload = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        entry.posts.append(payload)
        return respond(200, {"ok": True})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.record(Call("socket", request.path, request.method, dict(request.query), {}, b""))
        self.sockets.append(ws)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0PERF"}}
        )
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(message.data)
                if isinstance(data, dict) and "envelope_id" in data:
                    self.socket_acks.append(data)
                    self.record(Call("socket_ack", request.path, "WS", data, {}, b""))
        return ws

    # -- Web API methods --------------------------------------------------------------------

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "users.info": self.users_info,
            "conversations.info": self.conversations_info,
            "conversations.join": self.conversations_join,
            "conversations.open": self.conversations_open,
            "conversations.list": self.conversations_list,
            "conversations.history": self.conversations_history,
            "views.open": self.views_open,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
            "apps.connections.open": self.apps_connections_open,
        }

    def _channel(self, ref: Any) -> dict[str, Any] | None:
        if not isinstance(ref, str) or not ref:
            return None
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        return next((c for c in self.channels.values() if c["name"] == name), None)

    def _next_ts(self) -> str:
        self._seq += 1
        if self._seq > 999_999:
            self._epoch, self._seq = self._epoch + 1, 1
        return f"{self._epoch}.{self._seq:06d}"

    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://example.slack.com/",
            "team": "Example",
            "user": "perfbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "B0BOT",
            "is_enterprise_install": False,
        }

    def chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not channel.get("is_member", True):
            if channel.get("is_private"):
                return {"ok": False, "error": "channel_not_found"}
            if "chat:write.public" not in self.scopes:
                return {"ok": False, "error": "not_in_channel"}
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            return {"ok": False, "error": "no_text"}
        thread_ts = args.get("thread_ts")
        if thread_ts and (channel["id"], thread_ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        ts = self._next_ts()
        message = {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0BOT",
            "ts": ts,
            "text": args.get("text", ""),
            "blocks": _json_arg(args.get("blocks")) or [],
            "attachments": _json_arg(args.get("attachments")) or [],
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages[(channel["id"], ts)] = message
        return {"ok": True, "channel": channel["id"], "ts": ts, "message": message}

    def chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        message = self.messages.get((channel["id"], str(args.get("ts"))))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if "text" in args:
            message["text"] = args["text"]
        if "blocks" in args:
            message["blocks"] = _json_arg(args["blocks"]) or []
        if "attachments" in args:
            message["attachments"] = _json_arg(args["attachments"]) or []
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel["id"],
            "ts": message["ts"],
            "text": message["text"],
            "message": message,
        }

    def chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._channel(args.get("channel")) is None:
            return {"ok": False, "error": "channel_not_found"}
        if args.get("user") not in self.users:
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        return (
            {"ok": True, "channel": channel}
            if channel
            else {"ok": False, "error": "channel_not_found"}
        )

    def conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        channel["is_member"] = True
        return {"ok": True, "channel": channel}

    def conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", "")).split(",")
        if not users[0] or any(u not in self.users for u in users):
            return {"ok": False, "error": "user_not_found"}
        dm_id = "D" + users[0][1:]
        self.channels.setdefault(
            dm_id, {"id": dm_id, "name": dm_id, "is_im": True, "is_member": True}
        )
        return {"ok": True, "channel": {"id": dm_id}}

    def conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        listed = [c for c in self.channels.values() if not c.get("is_im")]
        return {"ok": True, "channels": listed, "response_metadata": {"next_cursor": ""}}

    def conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        found = [
            m for (c, _), m in sorted(self.messages.items(), reverse=True) if c == channel["id"]
        ]
        limit = int(args.get("limit") or 100)
        return {"ok": True, "messages": found[:limit], "has_more": len(found) > limit}

    def views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id") or not args.get("view"):
            return {"ok": False, "error": "invalid_arguments"}
        return {
            "ok": True,
            "view": {"id": "V" + uuid.uuid4().hex[:10].upper(), **(_json_arg(args["view"]) or {})},
        }

    def files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = args.get("filename"), args.get("length")
        if not filename or length is None:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self.files[file_id] = UploadedFile(file_id, str(filename), int(length))
        return {"ok": True, "upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        items = _json_arg(args.get("files"))
        if not isinstance(items, list) or not items:
            return {"ok": False, "error": "invalid_arguments"}
        channel_ref = args.get("channel_id")
        channel = self._channel(channel_ref) if channel_ref else None
        if channel_ref and channel is None:
            return {"ok": False, "error": "channel_not_found"}
        done = []
        for item in items:
            upload = self.files.get(str(item.get("id")))
            if upload is None or not upload.content:
                return {"ok": False, "error": "file_not_found"}
            upload.title = item.get("title")
            upload.channel = channel["id"] if channel else None
            upload.thread_ts = args.get("thread_ts")
            upload.initial_comment = args.get("initial_comment")
            upload.completed = True
            done.append(
                {
                    "id": upload.id,
                    "name": upload.filename,
                    "title": upload.title,
                    "size": len(upload.content),
                }
            )
        return {"ok": True, "files": done}

    def apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={uuid.uuid4().hex}"}


def _answer(payload: dict[str, Any]) -> web.Response:
    return respond(200, payload)


def _json_arg(value: Any) -> Any:
    """Block Kit arrays arrive as JSON values (JSON body) or JSON strings (form, query)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _merged_args(request: web.Request, body: bytes) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    content_type = request.content_type
    if body and content_type == "application/json":
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            args.update(parsed)
    elif body and content_type == "application/x-www-form-urlencoded":
        args.update(parse_qsl(body.decode(), keep_blank_values=True))
    return args


if __name__ == "__main__":
    main(lambda port: SlackFake(port))

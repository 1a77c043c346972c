"""A stand-in for the Mattermost REST API v4 subset perfbot uses, speaking to mattermostdriver
(`PERFBOT_MATTERMOST__URL=fake.url`).

Routes: `GET /api/v4/users/me`, `GET /api/v4/users/username/{name}` (from `users`), `POST /api/v4/posts` (201), `GET /api/v4/posts/{id}`,
`PUT /api/v4/posts/{id}/patch` (partial) and `PUT /api/v4/posts/{id}` (full update),
`POST /api/v4/files` (multipart), `POST /hooks/{id}` (incoming webhook, `200 ok`) and
`POST /api/v4/posts/{id}/actions/{action_id}` (what a client calls on a button click). The
bot token is checked (`Authorization: Bearer`); errors have Mattermost's JSON shape; a scripted
429 answers the plain-text `limit exceeded` with `X-Ratelimit-*` headers.

`click(post_id, action_id)` simulates a user pressing a button: it POSTs the real
`PostActionIntegrationRequest` JSON to the action's `integration.url`, applies the
integration's `update` to the stored post and returns the answer. Action ids that are not
alphanumeric 404, as on a real server."""

import json
import re
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.server import Call, FakeServer, Fault, main, respond

BOT_TOKEN = "mm-bot-token"
CHANNEL_ID = "4xp9fdt7pbgium38k5k6hj9dhc"
TEAM_ID = "5xxzt146eax4tul69409opqjlf"
BOT_USER_ID = "b0tb0tb0tb0tb0tb0tb0tb0tb0"
ALICE_ID = "rd49ehbqyjytddasoownkuqrxe"
_ALNUM = re.compile(r"^[A-Za-z0-9]+$")


def new_id() -> str:
    """A 26-character id like Mattermost's."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))


def error_body(status: int, message: str, error_id: str) -> dict[str, Any]:
    return {
        "id": error_id,
        "message": message,
        "detailed_error": "",
        "request_id": new_id(),
        "status_code": status,
    }


@dataclass
class ClickResult:
    status: int
    answer: dict[str, Any] | None
    text: str


class MattermostFake(FakeServer):
    name = "mattermost"

    def __init__(self, port: int | None = None, *, token: str = BOT_TOKEN) -> None:
        super().__init__(port)
        self.token = token
        self.channels: dict[str, dict[str, Any]] = {
            CHANNEL_ID: {
                "id": CHANNEL_ID,
                "team_id": TEAM_ID,
                "name": "perf-alerts",
                "display_name": "Perf alerts",
            }
        }
        self.posts: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.hooks: list[dict[str, Any]] = []
        self.users: dict[str, str] = {"alice": ALICE_ID}  # username → id

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v4/users/me", self._me),
            web.get("/api/v4/users/username/{username}", self._user_by_name),
            web.get("/api/v4/users/{user_id}", self._user_by_id),
            web.post("/api/v4/channels/direct", self._direct_channel),
            web.post("/api/v4/posts", self._create_post),
            web.get("/api/v4/posts/{post_id}", self._get_post),
            web.put("/api/v4/posts/{post_id}/patch", self._patch_post),
            web.put("/api/v4/posts/{post_id}", self._update_post),
            web.post("/api/v4/files", self._upload),
            web.post("/api/v4/posts/{post_id}/actions/{action_id}", self._action),
            web.post("/hooks/{hook_id}", self._hook),
        ]

    def fault_response(self, fault: Fault) -> web.Response:
        if fault.body is not None:
            return respond(fault.status, fault.body, fault.headers)
        if fault.status == 429:
            headers = {
                "X-Ratelimit-Limit": "10",
                "X-Ratelimit-Remaining": "0",
                "X-Ratelimit-Reset": "1",
                **fault.headers,
            }
            return respond(429, "limit exceeded", headers)
        return respond(
            fault.status,
            error_body(fault.status, "scripted failure", "api.scripted.app_error"),
            fault.headers,
        )

    def thread(self, root_id: str) -> list[dict[str, Any]]:
        """Replies to `root_id`, oldest first."""
        return sorted(
            (p for p in self.posts.values() if p["root_id"] == root_id),
            key=lambda p: p["create_at"],
        )

    # -- request plumbing -------------------------------------------------------------------

    async def _begin(
        self, request: web.Request, method: str, *, read: bool = True
    ) -> tuple[bytes, web.Response | None]:
        """Record the request and check the token; `read=False` leaves a multipart body unread."""
        body = await request.read() if read else b""
        args: dict[str, Any] = dict(request.query)
        if body and request.content_type == "application/json":
            parsed = json.loads(body)
            if isinstance(parsed, dict):
                args.update(parsed)
        self.record(Call(method, request.path, request.method, args, dict(request.headers), body))
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            return body, respond(
                401,
                error_body(
                    401,
                    "Invalid or expired session, please login again.",
                    "api.context.session_expired.app_error",
                ),
            )
        return body, None

    def _json(self, body: bytes) -> dict[str, Any] | None:
        try:
            parsed = json.loads(body or b"null")
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def _bad(self, message: str) -> web.Response:
        return respond(400, error_body(400, message, "api.context.invalid_param.app_error"))

    def _missing(self, what: str) -> web.Response:
        return respond(
            404, error_body(404, f"Unable to find the existing {what}.", "app.post.get.app_error")
        )

    # -- handlers ---------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        _, denied = await self._begin(request, "GET /users/me")
        return denied or respond(
            200, {"id": BOT_USER_ID, "username": "perfbot", "is_bot": True, "roles": "system_user"}
        )

    async def _user_by_name(self, request: web.Request) -> web.Response:
        _, denied = await self._begin(request, "GET /users/username")
        if denied:
            return denied
        name = request.match_info["username"]
        user_id = self.users.get(name)
        if user_id is None:
            return respond(
                404, error_body(404, "Unable to find the user.", "app.user.missing_account.const")
            )
        return respond(200, {"id": user_id, "username": name, "roles": "system_user"})

    async def _user_by_id(self, request: web.Request) -> web.Response:
        _, denied = await self._begin(request, "GET /users/{id}")
        if denied:
            return denied
        user_id = request.match_info["user_id"]
        if user_id == BOT_USER_ID:
            return await self._me(request)
        name = next((n for n, i in self.users.items() if i == user_id), None)
        if name is None:
            return respond(
                404, error_body(404, "Unable to find the user.", "app.user.missing_account.const")
            )
        return respond(200, {"id": user_id, "username": name, "roles": "system_user"})

    async def _direct_channel(self, request: web.Request) -> web.Response:
        """`POST /channels/direct` with `[user_id, other_user_id]`: the direct channel between
        the two (the same one every time), which the bot can post in."""
        body, denied = await self._begin(request, "POST /channels/direct")
        if denied:
            return denied
        try:
            ids = json.loads(body or b"null")
        except ValueError:
            ids = None
        known = {BOT_USER_ID, *self.users.values()}
        if not isinstance(ids, list) or len(ids) != 2 or not all(i in known for i in ids):
            return self._bad("Invalid user_ids parameter.")
        name = "__".join(sorted(ids))
        channel = next((c for c in self.channels.values() if c["name"] == name), None)
        if channel is None:
            channel = {"id": new_id(), "team_id": "", "name": name, "type": "D"}
            self.channels[channel["id"]] = channel
        return respond(201, channel)

    async def _create_post(self, request: web.Request) -> web.Response:
        body, denied = await self._begin(request, "POST /posts")
        if denied:
            return denied
        data = self._json(body)
        if data is None or not data.get("channel_id"):
            return self._bad("Invalid channel_id parameter.")
        if data["channel_id"] not in self.channels:
            return respond(
                403,
                error_body(
                    403,
                    "You do not have the appropriate permissions.",
                    "api.context.permissions.app_error",
                ),
            )
        root_id = data.get("root_id") or ""
        if root_id and root_id not in self.posts:
            return self._bad("Invalid RootId parameter.")
        file_ids = data.get("file_ids") or []
        if len(file_ids) > 5 or any(f not in self.files for f in file_ids):
            return self._bad("Invalid file_ids parameter.")
        message = str(data.get("message") or "")
        if len(message) > 16383:
            return self._bad("Invalid message parameter.")
        now = int(time.time() * 1000)
        post = {
            "id": new_id(),
            "create_at": now,
            "update_at": now,
            "edit_at": 0,
            "user_id": BOT_USER_ID,
            "channel_id": data["channel_id"],
            "root_id": root_id,
            "message": message,
            "type": "",
            "props": data.get("props") or {},
            "file_ids": file_ids,
        }
        self.posts[post["id"]] = post
        return respond(201, post)

    async def _get_post(self, request: web.Request) -> web.Response:
        _, denied = await self._begin(request, "GET /posts/{id}")
        post = self.posts.get(request.match_info["post_id"])
        return denied or (respond(200, post) if post else self._missing("post"))

    async def _patch_post(self, request: web.Request) -> web.Response:
        body, denied = await self._begin(request, "PUT /posts/{id}/patch")
        if denied:
            return denied
        post = self.posts.get(request.match_info["post_id"])
        data = self._json(body)
        if post is None:
            return self._missing("post")
        if data is None:
            return self._bad("Invalid patch.")
        for key in ("message", "props", "file_ids", "is_pinned"):
            if key in data and data[key] is not None:
                post[key] = data[key]
        post["update_at"] = post["edit_at"] = int(time.time() * 1000)
        return respond(200, post)

    async def _update_post(self, request: web.Request) -> web.Response:
        body, denied = await self._begin(request, "PUT /posts/{id}")
        if denied:
            return denied
        post_id = request.match_info["post_id"]
        post = self.posts.get(post_id)
        data = self._json(body)
        if post is None:
            return self._missing("post")
        if data is None or data.get("id") != post_id:
            return self._bad("Invalid id parameter.")
        post["message"] = str(data.get("message") or "")
        post["props"] = data.get("props") or {}
        post["file_ids"] = data.get("file_ids") or post["file_ids"]
        post["update_at"] = post["edit_at"] = int(time.time() * 1000)
        return respond(200, post)

    async def _upload(self, request: web.Request) -> web.Response:
        _, denied = await self._begin(request, "POST /files", read=False)
        if denied:
            return denied
        reader = await request.multipart()
        channel_id = ""
        infos: list[dict[str, Any]] = []
        while True:
            part = await reader.next()
            if part is None:
                break
            assert isinstance(part, aiohttp.BodyPartReader)
            content = await part.read()
            if part.name == "channel_id":
                channel_id = content.decode()
            elif part.name == "files":
                infos.append(
                    {
                        "id": new_id(),
                        "name": part.filename or "file",
                        "size": len(content),
                        "content": bytes(content),
                    }
                )
        if channel_id not in self.channels or not infos:
            return self._bad("Unable to upload file(s). Invalid channel_id or no files.")
        out = []
        for info in infos:
            self.files[info["id"]] = {**info, "channel_id": channel_id}
            out.append(
                {k: v for k, v in info.items() if k != "content"}
                | {"channel_id": channel_id, "mime_type": "image/png"}
            )
        return respond(201, {"file_infos": out, "client_ids": []})

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.record(Call("POST /hooks/{id}", request.path, "POST", {}, dict(request.headers), body))
        self.hooks.append(json.loads(body or b"{}"))
        return respond(200, "ok")

    async def _action(self, request: web.Request) -> web.Response:
        _, denied = await self._begin(request, "POST /posts/{id}/actions/{action_id}")
        if denied:
            return denied
        result = await self.click(request.match_info["post_id"], request.match_info["action_id"])
        if result.status != 200:
            return respond(
                result.status,
                error_body(
                    result.status, result.text, "api.post.do_action.action_integration.app_error"
                ),
            )
        return respond(200, {"status": "OK"})

    # -- user simulation --------------------------------------------------------------------

    async def click(
        self,
        post_id: str,
        action_id: str,
        *,
        user_id: str = ALICE_ID,
        user_name: str = "alice",
        context: dict[str, Any] | None = None,
        within: float = 10.0,
    ) -> ClickResult:
        """Press button `action_id` on a post: POST the PostActionIntegrationRequest to its
        integration URL (with `context` replacing the stored one, to forge a click), apply the
        answer's `update` to the post, and return the integration's answer."""
        post = self.posts.get(post_id)
        if post is None or not _ALNUM.match(action_id):
            return ClickResult(404, None, "not found")
        action = next(
            (
                a
                for att in post["props"].get("attachments", [])
                for a in att.get("actions", [])
                if a.get("id") == action_id
            ),
            None,
        )
        if action is None:
            return ClickResult(404, None, "no such action")
        integration = action.get("integration") or {}
        channel = self.channels[post["channel_id"]]
        request = {
            "user_id": user_id,
            "user_name": user_name,
            "channel_id": post["channel_id"],
            "channel_name": channel["name"],
            "team_id": channel["team_id"],
            "team_domain": "eng",
            "post_id": post_id,
            "trigger_id": new_id(),
            "type": action.get("type", "button"),
            "data_source": "",
            "context": context if context is not None else integration.get("context", {}),
        }
        async with (
            aiohttp.ClientSession(
                trust_env=False, timeout=aiohttp.ClientTimeout(total=within)
            ) as session,
            session.post(integration["url"], json=request) as response,
        ):
            text = await response.text()
            status = response.status
        try:
            answer = json.loads(text)
        except ValueError:
            return ClickResult(status, None, text)
        if status == 200 and isinstance(answer, dict) and isinstance(answer.get("update"), dict):
            update = answer["update"]
            if update.get("message") is not None:
                post["message"] = update["message"]
            if update.get("props") is not None:
                post["props"] = update["props"]
        return ClickResult(status, answer if isinstance(answer, dict) else None, text)


if __name__ == "__main__":
    main(lambda port: MattermostFake(port))

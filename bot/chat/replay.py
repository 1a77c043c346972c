"""Replays do nothing twice. A signed Slack request (its `X-Slack-Signature`, which covers the
timestamp and the body) and a Mattermost button click (its signed context and the clicker) are
executed once: the first sight of a request claims a hash of its credential in the database
(`store.requests`) until the end of its signature window, shared by every replica; a replay
finds the claim, is logged as a WARNING with `action=<platform>_request_replayed`, gets a
harmless answer from the front end and runs nothing.

Windows are on the wall clock, like the signature checks they extend."""

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot import errors
from bot.chat import slack_request
from bot.store.requests import SeenRequestRepository

logger = logging.getLogger(__name__)

ALREADY_HANDLED = "perfbot already handled this request; nothing was done again."
NO_DATABASE = "perfbot cannot reach its database right now; nothing was done, try again shortly."
MARGIN_S = 60  # claims outlive the signature window by this much, for clock skew


def request_key(platform: str, *credential: str) -> bytes:
    """The SHA-256 that identifies one request of `platform` by its credential parts."""
    digest = hashlib.sha256(platform.encode())
    for part in credential:
        digest.update(b"\x00" + part.encode("utf-8", "surrogatepass"))
    return digest.digest()


class ReplayGuard:
    """Claims requests in `requests` so that each is executed once."""

    def __init__(
        self, requests: SeenRequestRepository, *, wall: Callable[[], float] = time.time
    ) -> None:
        self._requests = requests
        self._wall = wall

    async def first_time(
        self, platform: str, credential: tuple[str, ...], valid_until: float, **log: object
    ) -> bool:
        """True for the first sight of this request (now claimed until unix time
        `valid_until`); False for a replay, which is logged. Raises DatabaseUnavailable."""
        now = self._wall()
        claimed = await self._requests.remember(
            request_key(platform, *credential),
            platform,
            datetime.fromtimestamp(now, UTC),
            datetime.fromtimestamp(max(valid_until, now), UTC),
        )
        if not claimed:
            logger.warning(
                "replayed request refused",
                extra={"action": f"{platform}_request_replayed", **log},
            )
        return claimed


async def slack_answer(
    guard: ReplayGuard, request: web.Request, body: dict[str, Any]
) -> web.Response | None:
    """The answer to a signed Slack command or interaction already executed (its signature was
    seen before, on any replica), or None to run it: a replayed command is told so (200, shown
    to the sender only), a replayed click gets an empty 200; neither runs. The Events API is
    not gated. Without the database nothing runs (fail closed)."""
    kind = slack_request.replay_kind(body)
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if kind is None or not timestamp.isdigit() or not signature:
        return None  # not gated, or an unsigned ssl_check (which Bolt answers, running nothing)
    command = kind == "command"
    valid_until = int(timestamp) + slack_request.MAX_AGE_S + MARGIN_S
    try:
        first = await guard.first_time(
            "slack",
            (timestamp, signature),
            valid_until,
            kind=kind,
            user_id=slack_request.user_id(body),
        )
    except errors.DatabaseUnavailable:
        logger.warning(
            "slack request refused: database unavailable",
            extra={"action": "slack_request_unchecked", "remote": request.remote},
        )
        return web.Response(text=NO_DATABASE if command else "")
    if first:
        return None
    return web.Response(text=ALREADY_HANDLED if command else "")

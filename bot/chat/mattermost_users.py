"""Mattermost user names to ids, for commands that name a person (`/perf override @bob 4h`).

A Mattermost slash command carries the id of the user who typed it but only the *name* in a
mention, and a name proves nothing (its owner can change it). So a mention is turned into the
id the server holds for that name right now (`GET /api/v4/users/username/{name}` with the bot
token) and the person is then found by that id in `people:`; the name is never matched
against the configuration. Every request is bounded by `TIMEOUT_S`; redirects are refused so
the token never leaves the configured server."""

import logging
import re
from urllib.parse import quote, urlsplit

import aiohttp

from bot import errors
from bot.config import MattermostSettings
from bot.routing import permission

logger = logging.getLogger(__name__)

TIMEOUT_S = 10.0
USERNAME = re.compile(r"[a-z0-9._-]{1,64}")


class MattermostUsers:
    """Looks user names up on one Mattermost server."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        if not parts.hostname:
            raise ValueError(f"not a Mattermost server URL: {url!r}")
        self._base = f"{parts.scheme or 'https'}://{parts.netloc}{parts.path.rstrip('/')}"
        self._token = token

    @classmethod
    def configured(cls, settings: MattermostSettings) -> "MattermostUsers | None":
        """The directory of the configured server, or None without a URL and bot token."""
        if settings.url is None or settings.token is None:
            return None
        return cls(settings.url, settings.token.get_secret_value())

    async def mattermost_user_id(self, username: str) -> str | None:
        """The id of the user called `username` (without `@`), or None when there is none;
        raises CommandError when the server cannot answer."""
        name = username.lower()
        if not USERNAME.fullmatch(name):
            return None
        url = f"{self._base}/api/v4/users/username/{quote(name)}"
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session,
                session.get(url, headers=headers, allow_redirects=False) as response,
            ):
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise errors.CommandError(
                        f"Mattermost refused the user lookup (HTTP {response.status}); "
                        "name the person by their id in people: instead"
                    )
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            logger.warning(
                "mattermost user lookup failed",
                extra={"action": "mattermost_user_lookup_failed", "error": type(exc).__name__},
            )
            raise errors.CommandError(
                "Mattermost did not answer the user lookup; name the person by their id in "
                "people: instead"
            ) from exc
        user_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(user_id, str) or not permission.MATTERMOST_ID.fullmatch(user_id):
            return None
        return user_id

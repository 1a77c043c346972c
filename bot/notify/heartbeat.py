"""The dead-man's switch (`heartbeat:`): one HTTP call after each successful detect cycle, so
that an external monitor (healthchecks.io-style, PagerDuty's heartbeat) pages when perfbot
stops. The call is bounded by the configured timeout, follows no redirect (a 3xx is a failure:
a ping URL that moved must be updated), and never raises: a failure is logged, the first of a
run of failures at once and then at most every `LOG_EVERY_S` seconds with the count, and its
recovery is logged too. The URL is a secret; logs show only its scheme and host."""

import logging
import time
from collections.abc import Callable

import aiohttp

from bot.config.heartbeat import HeartbeatSettings, mask_path

logger = logging.getLogger(__name__)

LOG_EVERY_S = 300.0


class Heartbeat:
    """Calls the heartbeat URL; `beat()` returns whether the monitor answered 2xx."""

    def __init__(
        self, settings: HeartbeatSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        assert settings.url is not None
        self._url = settings.url.get_secret_value()
        self._method = settings.method
        self._timeout = settings.timeout.total_seconds()
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self.where = mask_path(self._url)
        self.failures = 0  # in a row
        self._logged_at: float | None = None
        self._unlogged = 0

    @classmethod
    def configured(cls, settings: HeartbeatSettings) -> "Heartbeat | None":
        return cls(settings) if settings.url is not None else None

    async def beat(self) -> bool:
        """Call the URL once. Never raises (except on cancellation)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout), trust_env=False
            )
        try:
            async with self._session.request(
                self._method, self._url, allow_redirects=False
            ) as response:
                status = response.status
        except TimeoutError:
            self._failed(f"no answer within {self._timeout:g} s")
            return False
        except aiohttp.ClientError as exc:
            # the exception's text may quote the URL; its type says enough
            self._failed(f"cannot reach the monitor: {type(exc).__name__}")
            return False
        if not 200 <= status < 300:
            self._failed(
                f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
            )
            return False
        if self.failures:
            logger.info(
                "heartbeat recovered",
                extra={
                    "action": "heartbeat_recovered",
                    "url": self.where,
                    "failures": self.failures,
                },
            )
        else:
            logger.debug("heartbeat sent", extra={"action": "heartbeat_sent", "url": self.where})
        self.failures = 0
        self._logged_at = None
        self._unlogged = 0
        return True

    def _failed(self, reason: str) -> None:
        self.failures += 1
        self._unlogged += 1
        now = self._clock()
        if self._logged_at is not None and now - self._logged_at < LOG_EVERY_S:
            return
        logger.warning(
            "heartbeat failed",
            extra={
                "action": "heartbeat_failed",
                "url": self.where,
                "error": reason,
                "failures": self.failures,
                "since_last_line": self._unlogged,
            },
        )
        self._logged_at = now
        self._unlogged = 0

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

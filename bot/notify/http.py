"""Plain HTTP POSTs for the PagerDuty and webhook channels: one lazily created aiohttp session
per notifier (it ignores proxy environment variables: `trust_env=False`), a total timeout on
every request, and the one mapping of answers onto `NotifyError`: 2xx is success, 429 is
retryable after `Retry-After`, 408 and 5xx are retryable, any other status is permanent, and a
timeout or connection failure is retryable. URLs are never logged or put into errors whole:
webhook URLs often embed a token."""

import logging
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import aiohttp

from bot import errors

logger = logging.getLogger(__name__)

MAX_REASON = 300


def retry_after_seconds(value: str | None, date: str | None = None) -> float | None:
    """A `Retry-After` header in seconds: delta-seconds as given, an HTTP-date measured from
    the response's own `Date` header (no wall clock needed); None when absent or unreadable."""
    if value is None:
        return None
    try:
        return max(float(value.strip()), 0.0)
    except ValueError:
        pass
    if date is None:
        return None
    try:
        return max(
            (parsedate_to_datetime(value) - parsedate_to_datetime(date)).total_seconds(), 0.0
        )
    except (TypeError, ValueError):
        return None


def host_of(url: str) -> str:
    """`https://events.pagerduty.com/v2/enqueue?x` → `events.pagerduty.com`, for messages."""
    return urlsplit(url).netloc.rpartition("@")[2] or "(unknown host)"


def check_status(channel: str, status: int, body: str, retry_after: float | None) -> None:
    """Raise the `NotifyError` an HTTP answer means; return for 2xx."""
    if 200 <= status < 300:
        return
    reason = f"HTTP {status}: {body.strip()[:MAX_REASON] or '(empty body)'}"
    if status == 429:
        raise errors.NotifyError(channel, reason, retry_after=retry_after, status=status)
    if status == 408 or status >= 500:
        raise errors.NotifyError(channel, reason, status=status)
    raise errors.NotifyError(channel, reason, permanent=True, status=status)


class HttpPoster:
    """POSTs bytes for one channel; `aclose()` releases the session."""

    def __init__(self, channel: str, timeout: float) -> None:
        self._channel = channel
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout), trust_env=False
            )
        return self._session

    async def post(self, url: str, data: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """POST `data`; return (status, body text) of a 2xx answer, else raise NotifyError."""
        host = host_of(url)
        try:
            async with self._client().post(url, data=data, headers=headers) as response:
                text = await response.text(errors="replace")
                status = response.status
                retry_after = retry_after_seconds(
                    response.headers.get("Retry-After"), response.headers.get("Date")
                )
        except TimeoutError as exc:
            raise errors.NotifyError(
                self._channel, f"no answer from {host} within {self._timeout:g} s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise errors.NotifyError(
                self._channel, f"cannot reach {host}: {type(exc).__name__}"
            ) from exc
        logger.debug(
            "http post answered",
            extra={
                "action": "notify_http_answer",
                "channel": self._channel,
                "host": host,
                "status": status,
            },
        )
        check_status(self._channel, status, text, retry_after)
        return status, text

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

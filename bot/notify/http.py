"""Plain HTTP POSTs for the PagerDuty and webhook channels: one lazily created aiohttp session
per notifier (it ignores proxy environment variables: `trust_env=False`), a total timeout on
every request, and the one mapping of answers onto `NotifyError`: 2xx is success, 429 is
retryable after `Retry-After`, 408 and 5xx are retryable, any other status is permanent, and a
timeout or connection failure is retryable.

Redirects are never followed: a 3xx is a failed, permanent attempt naming only the host it
pointed to, so a receiver (or whoever took over its DNS) cannot bounce perfbot's signed POST to
an internal address. `no_redirects` is the same refusal for the aiohttp sessions slack-sdk
drives (`bot.notify.slack`). Of a response body at most `excerpt.READ_BYTES` are read, and only its
`excerpt` goes into errors. URLs are never logged or put into errors whole: webhook URLs often
embed a token."""

import logging
from types import SimpleNamespace
from urllib.parse import urlsplit

import aiohttp

from bot import errors
from bot.excerpt import READ_BYTES, excerpt
from bot.routing import backoff

logger = logging.getLogger(__name__)


def retry_after_seconds(value: str | None, date: str | None = None) -> float | None:
    """A `Retry-After` header in seconds, read by the one parser (`backoff.parse_retry_after`:
    finite, non-negative): delta-seconds as given, an HTTP-date measured from the response's
    own `Date` header (no wall clock needed); None when absent or unreadable. The policy caps it
    at `delivery.retry_after_max`."""
    return backoff.parse_retry_after(value, backoff.http_date(date))


def host_of(url: str) -> str:
    """`https://events.pagerduty.com/v2/enqueue?x` → `events.pagerduty.com`, for messages."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:  # e.g. an unclosed IPv6 bracket in a redirect's Location
        netloc = ""
    return netloc.rpartition("@")[2] or "(unknown host)"


def redirect_reason(status: int, location: str | None) -> str:
    """What a refused redirect is reported as: the status and the host it pointed to only."""
    target = excerpt(host_of(location)) if location else "(no Location)"
    return (
        f"HTTP {status}: redirect to {target} not followed "
        "(perfbot never follows redirects: configure the final URL)"
    )


class RedirectRefused(aiohttp.ClientError):
    """A destination answered a request of an aiohttp session made by `no_redirects` with a
    redirect; the session did not follow it."""

    def __init__(self, status: int, location: str | None) -> None:
        self.status = status
        super().__init__(redirect_reason(status, location))


async def _refuse_redirect(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestRedirectParams,
) -> None:
    params.response.close()
    raise RedirectRefused(params.response.status, params.response.headers.get("Location"))


def no_redirects() -> aiohttp.TraceConfig:
    """A trace for sessions whose requests are made by a library (slack-sdk) that cannot be
    told `allow_redirects=False`: a redirect raises `RedirectRefused` before it is followed."""
    trace = aiohttp.TraceConfig()
    trace.on_request_redirect.append(_refuse_redirect)
    return trace


def check_status(
    channel: str,
    status: int,
    body: str,
    retry_after: float | None,
    location: str | None = None,
) -> None:
    """Raise the `NotifyError` an HTTP answer means; return for 2xx. `location` is a
    redirect's `Location` header (only its host is named)."""
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise errors.NotifyError(
            channel, redirect_reason(status, location), permanent=True, status=status
        )
    reason = f"HTTP {status}: {excerpt(body) or '(empty body)'}"
    if status == 429:
        raise errors.NotifyError(channel, reason, retry_after=retry_after, status=status)
    if status == 408 or status >= 500:
        raise errors.NotifyError(channel, reason, status=status)
    raise errors.NotifyError(channel, reason, permanent=True, status=status)


async def _head(response: aiohttp.ClientResponse) -> bytes:
    """The first `READ_BYTES` bytes of the body (all of a shorter one); the rest is dropped
    with the connection."""
    head = bytearray()
    while len(head) < READ_BYTES:
        chunk = await response.content.read(READ_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return bytes(head)


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
        """POST `data` (never following a redirect); return (status, `excerpt` of the body)
        of a 2xx answer, else raise NotifyError."""
        host = host_of(url)
        try:
            async with self._client().post(
                url, data=data, headers=headers, allow_redirects=False
            ) as response:
                text = excerpt(await _head(response))
                status = response.status
                location = response.headers.get("Location")
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
        check_status(self._channel, status, text, retry_after, location)
        return status, text

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

"""Outbound channels. Each channel type (slack, mattermost, email, pagerduty, webhook, console)
implements `Notifier`; the delivery worker hands it one `Notification` at a time and stores the
returned `MessageRef` so later events about the same alert edit the same message in place.

A notifier renders with its own renderer module (domain code never formats messages), raises
`bot.errors.NotifyError` on failure (`permanent=True` for rejections that retrying cannot fix,
`retry_after=` for HTTP 429), and never swallows an error. Rendering runs inside `rendering`,
which turns any renderer exception into `bot.errors.RenderError`: a message that cannot be
rendered is that delivery's problem, never the destination's."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.errors import RenderError
from bot.models import Alert, MessageRef
from bot.notify import escape
from bot.routing.links import Link

__all__ = ["EVENTS", "LatencySeries", "Link", "MessageRef", "Notification", "Notifier", "rendering"]

MAX_RENDER_REASON = 200

EVENTS = (
    "fired",
    "updated",
    "acknowledged",
    "unacknowledged",
    "escalated",
    "resolved",
    "repeat",
    "test",
)
"""`test` is the marked card of `perfbot notify test` (`bot.notify.probe`): no buttons, `TEST`
in its tag, a webhook event of its own."""


@dataclass(frozen=True)
class LatencySeries:
    """Recent latency of the alert's operation for sparklines and charts: per-bucket timestamps
    (UTC) and p50/p95/p99 in ms, and the baseline band (p50 and p99 x multiplier) if known."""

    operation_type: str
    timestamps: tuple[datetime, ...]
    p50_ms: tuple[float, ...]
    p95_ms: tuple[float, ...]
    p99_ms: tuple[float, ...]
    baseline_p50_ms: float | None = None
    baseline_p99_ms: float | None = None
    threshold_ms: float | None = None


@dataclass(frozen=True)
class Notification:
    """One event about one alert, for one channel."""

    event: str
    alert: Alert
    previous: MessageRef | None = None  # this alert's existing message on this channel
    mention: tuple[str, ...] = ()  # handles to mention (escalation steps)
    children: tuple[Alert, ...] = ()  # alerts grouped under this one (a bottleneck's anomalies)
    series: LatencySeries | None = None
    is_fallback: bool = False  # sent to the fallback channel because the primary failed
    extra: dict[str, Any] = field(default_factory=dict)
    links: tuple[Link, ...] = ()  # runbooks and dashboards (`links:`), already expanded


PLATFORM_PREFIXES = ("slack:", "mattermost:")


def mentions_for(channel_type: str, handles: tuple[str, ...]) -> tuple[str, ...]:
    """The handles a channel of `channel_type` mentions: configured handles as they are, and
    platform-qualified person ids (`slack:U…`, `mattermost:<id>`, from escalation to people)
    only on their own platform, still qualified (the renderer or notifier turns them into a
    mention)."""
    return tuple(
        h
        for h in handles
        if not h.startswith(PLATFORM_PREFIXES) or h.startswith(f"{channel_type}:")
    )


@contextmanager
def rendering(channel: str) -> Iterator[None]:
    """Run a renderer: any exception it raises becomes `RenderError(channel, reason)`, the
    reason one line of at most 200 characters (`ValueError: Header values may not contain…`)."""
    try:
        yield
    except Exception as exc:
        reason = escape.console(" ".join(f"{type(exc).__name__}: {exc}".split()))
        if len(reason) > MAX_RENDER_REASON:
            reason = reason[: MAX_RENDER_REASON - 1] + "…"
        raise RenderError(channel, reason) from exc


class Notifier(Protocol):
    """One configured channel."""

    @property
    def channel(self) -> str:
        """The channel's name in the configuration."""
        ...

    async def send(self, notification: Notification) -> MessageRef | None:
        """Deliver the notification; return the message's reference (new or unchanged) or None
        when the channel cannot address messages later. Raises NotifyError."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...

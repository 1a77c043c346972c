"""An alert's message on a chat platform that edits messages in place and replies in threads
(Slack, Mattermost), and what each event does to it. Both notifiers follow `deliver`:

* an event with a stored message edits it in place; `repeat` and `escalated` also reply in its
  thread (with the mentions), so people are notified again;
* an event without a stored message, or whose message is gone, posts a new one;
* a newly posted `fired` message with a latency series gets the chart in its thread, when the
  channel has charts on.

The notifier supplies the platform calls and its reference type (Slack's `{"channel", "ts"}`,
Mattermost's post id)."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.notify import LatencySeries, Notification

THREADED_EVENTS = ("repeat", "escalated")

Ref = TypeVar("Ref")


async def deliver(
    notification: Notification,
    previous: Ref | None,
    *,
    edit: Callable[[Ref], Awaitable[bool]],
    reply: Callable[[Ref], Awaitable[None]],
    post: Callable[[], Awaitable[Ref]],
    chart: Callable[[Ref, LatencySeries], Awaitable[None]] | None,
) -> Ref:
    """The reference of the alert's message after `notification`: `previous` when it was
    edited in place, else that of a new message. `edit` returns False when the message is gone;
    `chart` (None: charts off) must not raise. The platform calls raise NotifyError."""
    if previous is not None and await edit(previous):
        if notification.event in THREADED_EVENTS:
            await reply(previous)
        return previous
    ref = await post()
    if notification.event == "fired" and notification.series is not None and chart is not None:
        await chart(ref, notification.series)
    return ref

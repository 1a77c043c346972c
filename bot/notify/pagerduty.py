"""The `pagerduty` channel: PagerDuty Events API v2 over aiohttp. Each event is one POST to the
events URL (202 is success; 400 is permanent; 429, 5xx and timeouts are retryable, honouring
`Retry-After`). The message reference is `{"dedup_key"}`: the alert's fingerprint, which ties
acknowledge and resolve to the incident the trigger opened."""

import logging

from bot.notify import MessageRef, Notification, pagerduty_render, rendering
from bot.notify.http import HttpPoster

logger = logging.getLogger(__name__)


class PagerDutyNotifier:
    def __init__(self, channel: str, *, routing_key: str, events_url: str, timeout: float) -> None:
        self._channel = channel
        self._routing_key = routing_key
        self._events_url = events_url
        self._http = HttpPoster(channel, timeout)

    @property
    def channel(self) -> str:
        return self._channel

    async def send(self, notification: Notification) -> MessageRef | None:
        """Send one event; return `{"dedup_key"}`. Raises NotifyError."""
        with rendering(self._channel):
            event = pagerduty_render.render(notification, self._routing_key)
            body = pagerduty_render.json_bytes(event)
        await self._http.post(
            self._events_url,
            body,
            {"Content-Type": "application/json", "Accept": "application/json"},
        )
        logger.info(
            "pagerduty event sent",
            extra={
                "action": "pagerduty_sent",
                "channel": self._channel,
                "alert_id": notification.alert.id,
                "event_action": event["event_action"],
            },
        )
        return {"dedup_key": event["dedup_key"]}

    async def aclose(self) -> None:
        await self._http.aclose()

"""The `webhook` channel: the alert as signed JSON POSTed to a URL of the user's (see
`webhook_render` for the contract). 2xx is success; 429 is retryable after `Retry-After`; other
4xx are permanent; 5xx, timeouts and connection failures are retryable. Webhooks cannot address
a message later, so `send` returns None."""

import logging

from bot.notify import MessageRef, Notification, rendering, webhook_render
from bot.notify.http import HttpPoster, host_of

logger = logging.getLogger(__name__)


class WebhookNotifier:
    def __init__(self, channel: str, *, url: str, secret: str | None, timeout: float) -> None:
        self._channel = channel
        self._url = url
        self._secret = secret
        self._http = HttpPoster(channel, timeout)

    @property
    def channel(self) -> str:
        return self._channel

    async def send(self, notification: Notification) -> MessageRef | None:
        with rendering(self._channel):
            body = webhook_render.body(notification)
            headers = webhook_render.headers(notification, body, self._secret)
        status, _ = await self._http.post(self._url, body, headers)
        logger.info(
            "webhook delivered",
            extra={
                "action": "webhook_sent",
                "channel": self._channel,
                "alert_id": notification.alert.id,
                "host": host_of(self._url),
                "status": status,
            },
        )
        return None

    async def aclose(self) -> None:
        await self._http.aclose()

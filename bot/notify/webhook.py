"""The `webhook` channel: the alert as signed JSON POSTed to a URL of the user's (see
`webhook_render` for the contract). 2xx is success; 429 is retryable after `Retry-After`; a
redirect and other 4xx are permanent (perfbot never follows a redirect); 5xx, timeouts and
connection failures are retryable. Webhooks cannot address a message later, so `send` returns
None."""

import logging
import time
import uuid
from collections.abc import Callable

from bot.notify import MessageRef, Notification, rendering, webhook_render
from bot.notify.http import HttpPoster, host_of

logger = logging.getLogger(__name__)


class WebhookNotifier:
    def __init__(
        self,
        channel: str,
        *,
        url: str,
        secret: str | None,
        timeout: float,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`wall` gives the signature's timestamp in Unix seconds: the real time even on the
        demo's accelerated clock, because receivers check it against their own clock."""
        self._channel = channel
        self._url = url
        self._secret = secret
        self._wall = wall
        self._http = HttpPoster(channel, timeout)

    @property
    def channel(self) -> str:
        return self._channel

    async def send(self, notification: Notification) -> MessageRef | None:
        delivery_id = notification.extra.get("delivery_id")
        # The outbox row id, the same on every retry; a send outside the outbox gets its own.
        delivery = str(delivery_id) if delivery_id is not None else uuid.uuid4().hex
        with rendering(self._channel):
            body = webhook_render.body(notification, delivery)
            headers = webhook_render.headers(
                notification, body, delivery, self._secret, int(self._wall())
            )
        status, _ = await self._http.post(self._url, body, headers)
        logger.info(
            "webhook delivered",
            extra={
                "action": "webhook_sent",
                "channel": self._channel,
                "alert_id": notification.alert.id,
                "delivery": delivery,
                "host": host_of(self._url),
                "status": status,
            },
        )
        return None

    async def aclose(self) -> None:
        await self._http.aclose()

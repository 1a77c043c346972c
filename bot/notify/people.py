"""Reaching a person (`people:`) whom an escalation step paged: one notifier per way to reach
them, named `person:<id>:<medium>` (`bot.routing.paging.person_channel`), so the deliveries go
through the outbox like any channel's (retried, never lost, in the delivery history):

* `slack`: a direct message from the bot (`conversations.open` with the user id, then
  `chat.postMessage` into that conversation; the bot token needs the `im:write` scope);
* `mattermost`: a direct message from the bot (`POST /api/v4/channels/direct` with the bot's
  and the person's user ids, then a post in it);
* `email`: the alert card mailed to the person's address through `email:` (SMTP);
* `pagerduty`: a PagerDuty event to the person's own `pagerduty_routing_key` (an Events API
  v2 integration key of a service that pages them). A `pagerduty_user` alone cannot be paged
  through the Events API and gets no PagerDuty delivery.

A medium is used only when the platform is configured (`bot.config.oncall.person_media`)."""

import ssl
from typing import Any

from bot.config import Person, Settings
from bot.config.oncall import person_media
from bot.notify import Notification, Notifier
from bot.notify.email import EmailNotifier
from bot.notify.mattermost import MattermostNotifier
from bot.notify.mattermost_sign import signer
from bot.notify.pagerduty import PagerDutyNotifier
from bot.notify.slack import SlackNotifier
from bot.routing.paging import person_channel

MEDIA_TYPES = {
    "slack": "slack",
    "mattermost": "mattermost",
    "email": "email",
    "pagerduty": "pagerduty",
}


def person_channel_types(settings: Settings) -> dict[str, str]:
    """Person channel name → channel type (for rate limits and mention filtering)."""
    return {
        person_channel(pid, medium): MEDIA_TYPES[medium]
        for pid, person in settings.people.items()
        for medium in person_media(settings.platforms, person)
    }


class SlackDirectNotifier(SlackNotifier):
    """The alert card as a direct message to one Slack user (`conversations.open` first)."""

    def __init__(self, channel: str, user: str, **kwargs: Any) -> None:
        super().__init__(channel, user, charts_enabled=False, **kwargs)
        self._user = user

    async def _post(self, notification: Notification, message: dict[str, Any]) -> dict[str, str]:
        opened = await self._call(
            "conversations.open", lambda web: web.conversations_open(users=self._user)
        )
        conversation = opened.get("channel")
        if not isinstance(conversation, dict) or not conversation.get("id"):
            raise ValueError("conversations.open answered without a channel id")
        self._destination = str(conversation["id"])
        return await super()._post(notification, message)


class MattermostDirectNotifier(MattermostNotifier):
    """The alert card as a direct message to one Mattermost user: the direct channel between
    the bot and the user is opened (or found: the call is idempotent) on first use."""

    def __init__(self, channel: str, user_id: str, **kwargs: Any) -> None:
        super().__init__(channel, "", charts_enabled=False, **kwargs)
        self._user_id = user_id

    async def send(self, notification: Notification) -> dict[str, Any] | None:
        if not self._channel_id:
            await self._login()
            me = await self._run("get bot user", self._driver.users.get_user, "me")
            direct = await self._run(
                "open direct channel",
                self._driver.channels.create_direct_message_channel,
                options=[str(me["id"]), self._user_id],
            )
            self._channel_id = str(direct["id"])
        return await super().send(notification)


def build_person_notifiers(
    settings: Settings, *, timeout: float, email_tls_context: ssl.SSLContext | None = None
) -> dict[str, Notifier]:
    """`person:<id>:<medium>` → notifier for every person and every medium they can be
    reached by (`person_media`)."""
    notifiers: dict[str, Notifier] = {}
    for pid, person in settings.people.items():
        for medium in person_media(settings.platforms, person):
            name = person_channel(pid, medium)
            notifiers[name] = _build(name, medium, person, settings, timeout, email_tls_context)
    return notifiers


def _build(
    name: str,
    medium: str,
    person: Person,
    settings: Settings,
    timeout: float,
    email_tls_context: ssl.SSLContext | None,
) -> Notifier:
    if medium == "slack":
        assert person.slack is not None
        assert settings.slack.bot_token is not None
        return SlackDirectNotifier(
            name,
            person.slack,
            token=settings.slack.bot_token.get_secret_value(),
            api_url=settings.slack.api_url,
            timeout=timeout,
        )
    if medium == "mattermost":
        mm = settings.mattermost
        assert person.mattermost is not None
        assert mm.url is not None
        assert mm.token is not None
        return MattermostDirectNotifier(
            name,
            person.mattermost,
            url=mm.url,
            token=mm.token.get_secret_value(),
            actions_url=mm.actions_url,
            signer=signer(mm),
            timeout=timeout,
        )
    if medium == "email":
        assert person.email is not None
        return EmailNotifier(
            name, settings.email, [person.email], timeout=timeout, tls_context=email_tls_context
        )
    assert person.pagerduty_routing_key is not None
    return PagerDutyNotifier(
        name,
        routing_key=person.pagerduty_routing_key.get_secret_value(),
        events_url=settings.pagerduty.events_url,
        timeout=timeout,
    )

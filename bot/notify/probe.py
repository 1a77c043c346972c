"""Testing a channel for real: `perfbot notify test CHANNEL` and `/perf test CHANNEL` send one
clearly marked test card (event `test`: tagged TEST, titled as a test, without buttons)
through the channel's own notifier, the same code that delivers alerts, and report what the
platform answered or its precise error with what to do about it.

PagerDuty must not page anyone for a test: the trigger has severity `info` (low urgency on a
service whose urgency follows severity) and is resolved at once with the same `dedup_key`, so
the incident is closed before an escalation policy's first notification is due."""

import logging
import ssl
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime

from rich.console import Console

from bot import errors
from bot.config import (
    ChannelConfig,
    EmailChannel,
    MattermostChannel,
    PagerDutyChannel,
    Settings,
    SlackChannel,
    WebhookChannel,
)
from bot.models import (
    Alert,
    AlertKind,
    AlertStatus,
    ChannelProbe,
    EscalationPlan,
    MessageRef,
    Severity,
)
from bot.notify import Notification, Notifier
from bot.notify.http import host_of
from bot.notify.registry import build_notifier

logger = logging.getLogger(__name__)

TEST_EVENT = "test"
TEST_TITLE = "TEST message from perfbot: no action needed"
TEST_OPERATION = "perfbot-test"


def test_alert(channel: str, requested_by: str, now: datetime) -> Alert:
    """The made-up alert a test card shows: id 0, INFO, a fingerprint of its own per test
    (`perfbot-test:<channel>:<random>`), so it never touches a real alert's message or incident."""
    return Alert(
        id=0,
        fingerprint=f"perfbot-test:{channel}:{uuid.uuid4().hex[:12]}",
        kind=AlertKind.STATISTICAL,
        severity=Severity.INFO,
        operation_types=(TEST_OPERATION,),
        title=TEST_TITLE,
        summary=(
            f"Sent by {requested_by} to check that perfbot can deliver to channel {channel} "
            "(token, scopes, destination). Nothing is wrong."
        ),
        first_seen=now,
        last_seen=now,
        plan=EscalationPlan(route="test", channels=(channel,)),
        created_at=now,
        updated_at=now,
    )


def accepted(config: ChannelConfig, ref: MessageRef | None) -> str:
    """What the platform answered to the test card, in words."""
    ref = ref or {}
    if isinstance(config, SlackChannel):
        return f"Slack accepted it: message ts {ref.get('ts')} in channel {ref.get('channel')}"
    if isinstance(config, MattermostChannel):
        return f"Mattermost created post {ref.get('post_id')} in channel {config.channel_id}"
    if isinstance(config, EmailChannel):
        return f"the SMTP server accepted the mail to {', '.join(config.to)}"
    if isinstance(config, PagerDutyChannel):
        return (
            f"PagerDuty accepted the trigger (severity info) and the resolve of dedup_key "
            f"{ref.get('dedup_key')}: the test incident is closed"
        )
    if isinstance(config, WebhookChannel):
        return f"{host_of(str(config.url))} answered with a 2xx status"
    return "printed on the console"


def hint(config: ChannelConfig, exc: errors.NotifyError) -> str | None:
    """What to do about a refusal, from the platform's error code or status; None when the
    error says it all."""
    reason, status = exc.reason, exc.status
    if isinstance(config, SlackChannel):
        return _slack_hint(reason, config.channel)
    if isinstance(config, MattermostChannel):
        return {
            401: "Mattermost refused the bot token: check PERFBOT_MATTERMOST__TOKEN "
            "(a bot account's access token)",
            403: f"the bot account may not post in channel {config.channel_id}: add it to the "
            "channel (and its team), and check the channel id",
            404: f"Mattermost found no channel {config.channel_id} (or the URL is not a "
            "Mattermost server): check channel_id and PERFBOT_MATTERMOST__URL",
        }.get(status or 0)
    if isinstance(config, PagerDutyChannel) and status == 400:
        if "routing key" in reason.lower() or "routing_key" in reason:
            return (
                "PagerDuty does not know this routing key: copy the Integration Key of the "
                "service's Events API v2 integration (32 characters)"
            )
        return None
    if isinstance(config, EmailChannel):
        if status in (530, 534, 535):
            return "the SMTP server refused the login: check PERFBOT_EMAIL__USERNAME and PERFBOT_EMAIL__PASSWORD"
        if status is not None and 500 <= status < 600:
            return "the SMTP server refused the mail: check the sender (email.from) and `to`"
        return None
    if isinstance(config, WebhookChannel) and status in (401, 403):
        return "the receiver refused the request: check its URL and the channel's secret"
    return None


def _slack_hint(reason: str, destination: str) -> str | None:
    if "missing_scope" in reason:
        return (
            "the bot token lacks the scope named as needed: add it under OAuth & Permissions → "
            "Bot Token Scopes, reinstall the app, and use the new xoxb- token"
        )
    if "not_in_channel" in reason:
        return f"the bot is not in {destination}: invite it there (/invite @perfbot)"
    if "channel_not_found" in reason:
        return (
            f"Slack shows the bot no channel {destination}: check the name or id; for a "
            "private channel, invite the bot (/invite @perfbot)"
        )
    if any(code in reason for code in ("invalid_auth", "not_authed", "token_revoked")):
        return "Slack refused the bot token: check PERFBOT_SLACK__BOT_TOKEN (xoxb-…)"
    if "is_archived" in reason:
        return f"{destination} is archived: unarchive it or configure another channel"
    return None


async def probe(
    name: str,
    config: ChannelConfig,
    notifier: Notifier,
    *,
    requested_by: str,
    now: datetime,
) -> ChannelProbe:
    """Send the test card through `notifier` (and for PagerDuty resolve it at once); the
    outcome, never an exception for a refusal (NotifyError, RenderError)."""
    alert = test_alert(name, requested_by, now)
    kind = config.type
    try:
        ref = await notifier.send(Notification(TEST_EVENT, alert))
    except (errors.NotifyError, errors.RenderError) as exc:
        return _refused(name, config, exc)
    if isinstance(config, PagerDutyChannel):
        resolved = alert.model_copy(
            update={"status": AlertStatus.RESOLVED, "resolved_at": now, "resolved_by": requested_by}
        )
        try:
            ref = await notifier.send(Notification("resolved", resolved, previous=ref))
        except errors.NotifyError as exc:
            failed = _refused(name, config, exc)
            return failed.model_copy(
                update={
                    "answer": f"the trigger was accepted, the resolve failed: {failed.answer}",
                    "hint": f"resolve the incident with dedup_key {alert.fingerprint} in PagerDuty",
                }
            )
    logger.info(
        "channel test delivered",
        extra={"action": "channel_test", "channel": name, "kind": kind, "by": requested_by},
    )
    return ChannelProbe(channel=name, kind=kind, delivered=True, answer=accepted(config, ref))


def _refused(
    name: str, config: ChannelConfig, exc: errors.NotifyError | errors.RenderError
) -> ChannelProbe:
    logger.warning(
        "channel test refused",
        extra={
            "action": "channel_test_refused",
            "channel": name,
            "kind": config.type,
            "reason": exc.reason,
        },
    )
    advice = hint(config, exc) if isinstance(exc, errors.NotifyError) else None
    return ChannelProbe(
        channel=name, kind=config.type, delivered=False, answer=exc.reason, hint=advice
    )


class ChannelTester:
    """Tests the configured channels: through the running bot's notifiers when given
    (`notifiers`), else through a notifier built for the one channel tested and closed after."""

    def __init__(
        self,
        settings: Settings,
        now: Callable[[], datetime],
        notifiers: Mapping[str, Notifier] | None = None,
        *,
        console: Console | None = None,
        email_tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._now = now
        self._notifiers = notifiers
        self._console = console
        self._tls = email_tls_context

    def names(self) -> list[str]:
        """The configured channel names, sorted."""
        return sorted(self._settings.all_channels())

    async def test(self, channel: str, requested_by: str) -> ChannelProbe:
        """Send the test card to `channel`. Raises NotFound for a channel not configured and
        ConfigError when its platform settings are missing."""
        config = self._settings.all_channels().get(channel)
        if config is None:
            known = ", ".join(self.names()) or "none are configured"
            raise errors.NotFound(f"no channel named {channel!r} (channels: {known})")
        shared = self._notifiers.get(channel) if self._notifiers is not None else None
        if shared is not None:
            return await probe(channel, config, shared, requested_by=requested_by, now=self._now())
        try:
            notifier = build_notifier(
                channel,
                config,
                self._settings,
                timeout=self._settings.delivery.timeout.total_seconds(),
                console=self._console,
                email_tls_context=self._tls,
            )
        except ValueError as exc:
            raise errors.ConfigError([f"channels.{channel}: {exc}"]) from exc
        try:
            return await probe(
                channel, config, notifier, requested_by=requested_by, now=self._now()
            )
        finally:
            await notifier.aclose()

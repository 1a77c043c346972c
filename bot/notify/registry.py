"""Builds one `Notifier` per configured channel (`Settings.all_channels()`), each from its
platform settings and its channel entry. Nothing connects here: sessions and logins happen on
first use, so building is cheap and cannot fail on a destination that is down."""

import ssl
from typing import TypeVar

from rich.console import Console

from bot.config import (
    ChannelConfig,
    ConsoleChannel,
    EmailChannel,
    MattermostChannel,
    PagerDutyChannel,
    Settings,
    SlackChannel,
    WebhookChannel,
)
from bot.config.checks import platform_gap
from bot.errors import ConfigError
from bot.notify import Notifier
from bot.notify.console import ConsoleNotifier
from bot.notify.email import EmailNotifier
from bot.notify.mattermost import MattermostNotifier
from bot.notify.mattermost_sign import signer
from bot.notify.pagerduty import PagerDutyNotifier
from bot.notify.people import build_person_notifiers
from bot.notify.slack import SlackNotifier
from bot.notify.webhook import WebhookNotifier

T = TypeVar("T")


def build_notifiers(
    settings: Settings,
    *,
    console: Console | None = None,
    timeout: float | None = None,
    email_tls_context: ssl.SSLContext | None = None,
) -> dict[str, Notifier]:
    """Channel name → notifier for every channel. `timeout` (seconds) bounds each network call
    and defaults to `delivery.timeout`; `console` is where console channels print (default:
    stdout); `email_tls_context` replaces certificate checks for SMTP (tests). Raises
    ConfigError naming every channel whose platform settings are missing."""
    seconds = timeout if timeout is not None else settings.delivery.timeout.total_seconds()
    notifiers: dict[str, Notifier] = {}
    problems: list[str] = []
    for name, config in settings.all_channels().items():
        try:
            notifiers[name] = build_notifier(
                name,
                config,
                settings,
                timeout=seconds,
                console=console,
                email_tls_context=email_tls_context,
            )
        except ValueError as exc:
            problems.append(f"channels.{name}: {exc}")
    if problems:
        raise ConfigError(problems)
    # the people escalation pages, reached directly (`bot.notify.people`)
    notifiers.update(
        build_person_notifiers(settings, timeout=seconds, email_tls_context=email_tls_context)
    )
    return notifiers


def build_notifier(
    name: str,
    config: ChannelConfig,
    settings: Settings,
    *,
    timeout: float,
    console: Console | None = None,
    email_tls_context: ssl.SSLContext | None = None,
) -> Notifier:
    """One channel's notifier. Raises ValueError when its platform settings are missing
    (`bot.config.checks.platform_gap` says which)."""
    gap = platform_gap(config, settings.platforms)
    if gap is not None:
        raise ValueError(gap)
    if isinstance(config, SlackChannel):
        return SlackNotifier(
            name,
            config.channel,
            token=_checked(settings.slack.bot_token).get_secret_value(),
            api_url=settings.slack.api_url,
            timeout=timeout,
        )
    if isinstance(config, MattermostChannel):
        mm = settings.mattermost
        return MattermostNotifier(
            name,
            config.channel_id,
            url=_checked(mm.url),
            token=_checked(mm.token).get_secret_value(),
            actions_url=mm.actions_url,
            signer=signer(mm),
            timeout=timeout,
        )
    if isinstance(config, EmailChannel):
        return EmailNotifier(
            name, settings.email, config.to, timeout=timeout, tls_context=email_tls_context
        )
    if isinstance(config, PagerDutyChannel):
        key = _checked(config.key(settings.pagerduty.routing_key))
        return PagerDutyNotifier(
            name,
            routing_key=key.get_secret_value(),
            events_url=settings.pagerduty.events_url,
            timeout=timeout,
        )
    if isinstance(config, WebhookChannel):
        secret = config.secret.get_secret_value() if config.secret is not None else None
        return WebhookNotifier(name, url=str(config.url), secret=secret, timeout=timeout)
    if isinstance(config, ConsoleChannel):
        return ConsoleNotifier(name, console)
    raise ValueError(f"unknown channel type {type(config).__name__}")


def _checked(value: T | None) -> T:
    """A platform setting that `platform_gap` has found present."""
    assert value is not None
    return value


async def close_all(notifiers: dict[str, Notifier]) -> None:
    """`aclose()` every notifier (at shutdown)."""
    for notifier in notifiers.values():
        await notifier.aclose()

"""The `email` channel: alert mails over SMTP with aiosmtplib, one connection per mail (alerts
are rare; a pooled connection would idle out between them). STARTTLS is used when the settings
say `starttls` and never otherwise, implicit TLS when `use_tls`; AUTH only with a username.

Errors: a 4xx reply, a timeout or a dropped connection is retryable; a 5xx refusal of the
sender or of every recipient, failed authentication, or a server lacking a needed extension is
permanent; the server's reply text is kept only as an `excerpt`. Mails thread by their
`Message-ID` headers (see `email_render`); the reference is the first mail's id,
`{"message_id"}`."""

import logging
import ssl

import aiosmtplib

from bot import errors
from bot.config import EmailSettings
from bot.excerpt import excerpt
from bot.notify import MessageRef, Notification, email_render, rendering

logger = logging.getLogger(__name__)


class EmailNotifier:
    def __init__(
        self,
        channel: str,
        settings: EmailSettings,
        to: list[str],
        *,
        timeout: float,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """`tls_context` overrides certificate checks (tests with a self-signed certificate)."""
        if settings.host is None:
            raise ValueError("EmailSettings.host is required for an email channel")
        self._channel = channel
        self._settings = settings
        self._host = settings.host
        self._to = list(to)
        self._timeout = timeout
        self._tls_context = tls_context

    @property
    def channel(self) -> str:
        return self._channel

    async def send(self, notification: Notification) -> MessageRef | None:
        """Send one mail; return `{"message_id"}` of the alert's first mail. Raises NotifyError,
        or RenderError before connecting."""
        settings = self._settings
        with rendering(self._channel):
            message = email_render.render(notification, sender=settings.from_, to=self._to)
            message.as_bytes()  # what aiosmtplib will do: any header problem surfaces here
        try:
            refused, _ = await aiosmtplib.send(
                message,
                hostname=self._host,
                port=settings.port,
                username=settings.username,
                password=settings.password.get_secret_value() if settings.password else None,
                use_tls=settings.use_tls,
                start_tls=settings.starttls and not settings.use_tls,
                tls_context=self._tls_context,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPException as exc:
            raise self._error(exc) from exc
        except OSError as exc:
            raise errors.NotifyError(
                self._channel,
                f"cannot reach SMTP server {self._host}:{settings.port}: "
                f"{excerpt(exc.strerror or str(exc))}",
            ) from exc
        if refused:
            logger.warning(
                "some recipients refused",
                extra={
                    "action": "email_recipients_refused",
                    "channel": self._channel,
                    "refused": sorted(refused),
                },
            )
        logger.info(
            "alert mail sent",
            extra={
                "action": "email_sent",
                "channel": self._channel,
                "alert_id": notification.alert.id,
            },
        )
        return {"message_id": email_render.root_message_id(notification.alert, settings.from_)}

    def _error(self, exc: aiosmtplib.SMTPException) -> errors.NotifyError:
        where = f"{self._host}:{self._settings.port}"
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return errors.NotifyError(
                self._channel,
                f"SMTP authentication failed at {where} for user {self._settings.username!r}: {exc.code} {excerpt(exc.message)}",
                permanent=True,
                status=exc.code,
            )
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = [r.code for r in exc.recipients]
            who = ", ".join(r.recipient for r in exc.recipients)
            return errors.NotifyError(
                self._channel,
                f"SMTP server {where} refused every recipient ({who}): "
                f"{codes[0]} {excerpt(exc.recipients[0].message)}",
                permanent=all(code >= 500 for code in codes),
                status=codes[0] if codes else None,
            )
        if isinstance(exc, aiosmtplib.SMTPTimeoutError):
            return errors.NotifyError(
                self._channel, f"SMTP server {where} did not answer within {self._timeout:g} s"
            )
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return errors.NotifyError(
                self._channel,
                f"SMTP server {where} answered {exc.code} {excerpt(exc.message)}",
                permanent=exc.code >= 500,
                status=exc.code,
            )
        if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
            return errors.NotifyError(
                self._channel, f"cannot reach SMTP server {where}: {excerpt(exc.message)}"
            )
        if isinstance(exc, aiosmtplib.SMTPNotSupported):
            return errors.NotifyError(
                self._channel, f"SMTP server {where}: {excerpt(exc.message)}", permanent=True
            )
        return errors.NotifyError(self._channel, f"SMTP failure at {where}: {excerpt(exc.message)}")

    async def aclose(self) -> None:
        return None

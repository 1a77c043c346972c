"""EmailNotifier against a real SMTP server (aiosmtpd) on loopback."""

from typing import Any

import pytest

from bot.config import EmailSettings
from bot.errors import NotifyError
from bot.models import AlertStatus
from bot.notify import email_render
from bot.notify.email import EmailNotifier
from tests.fakes.server import free_port
from tests.fakes.smtp import SmtpServer, TlsFiles
from tests.unit.notify.factories import make_alert, make_notification

SENDER = "PerfBot <perfbot@perfbot.test>"
TO = ["oncall@perfbot.test", "dba@perfbot.test"]


def notifier(
    smtp: SmtpServer | None,
    *,
    port: int | None = None,
    tls: TlsFiles | None = None,
    timeout: float = 3.0,
    **settings: Any,
) -> EmailNotifier:
    config = EmailSettings(
        host="127.0.0.1", port=port or (smtp.port if smtp else 25), **{"from": SENDER}, **settings
    )
    return EmailNotifier(
        "dba-email", config, TO, timeout=timeout, tls_context=tls.client_context() if tls else None
    )


async def test_fired_then_resolved_thread(smtp_server):
    mailer = notifier(smtp_server)
    ref = await mailer.send(make_notification())
    assert ref == {"message_id": email_render.root_message_id(make_alert(), SENDER)}
    await mailer.send(
        make_notification("resolved", make_alert(status=AlertStatus.RESOLVED), previous=ref)
    )
    first, second = smtp_server.received
    assert first.mail_from == "perfbot@perfbot.test"
    assert first.rcpt_tos == TO
    assert first.message["Message-ID"] == ref["message_id"]
    assert first.message["Subject"] == "[CRITICAL] perfbot: commit latency anomaly (#42)"
    assert {p.get_content_type() for p in first.message.iter_parts()} == {"text/plain", "text/html"}
    assert second.message["Subject"] == "[RESOLVED] perfbot: commit latency anomaly (#42)"
    assert second.message["In-Reply-To"] == ref["message_id"]
    assert second.message["References"] == ref["message_id"]


async def test_login_with_credentials(make_smtp_server):
    smtp = make_smtp_server(auth=("perfbot", "s3cret"))
    await notifier(smtp, username="perfbot", password="s3cret").send(make_notification())
    (mail,) = smtp.received
    assert mail.authenticated


async def test_bad_credentials_fail_clearly_and_permanently(make_smtp_server):
    smtp = make_smtp_server(auth=("perfbot", "s3cret"))
    with pytest.raises(NotifyError) as caught:
        await notifier(smtp, username="perfbot", password="wrong").send(make_notification())
    assert caught.value.permanent
    assert caught.value.status == 535
    assert "SMTP authentication failed" in caught.value.reason
    assert "'perfbot'" in caught.value.reason
    assert "wrong" not in str(caught.value)
    assert not smtp.received


async def test_refused_recipients_are_permanent(make_smtp_server):
    smtp = make_smtp_server(refuse=set(TO))
    with pytest.raises(NotifyError) as caught:
        await notifier(smtp).send(make_notification())
    assert caught.value.permanent
    assert caught.value.status == 550


async def test_one_refused_recipient_still_delivers_to_the_others(make_smtp_server):
    smtp = make_smtp_server(refuse={TO[1]})
    assert await notifier(smtp).send(make_notification()) is not None
    (mail,) = smtp.received
    assert mail.rcpt_tos == [TO[0]]


async def test_temporary_failure_is_retryable(make_smtp_server):
    smtp = make_smtp_server(data_reply="451 4.3.0 try again later")
    with pytest.raises(NotifyError) as caught:
        await notifier(smtp).send(make_notification())
    assert not caught.value.permanent
    assert caught.value.status == 451


async def test_no_server_is_retryable():
    with pytest.raises(NotifyError) as caught:
        await notifier(None, port=free_port(), timeout=1.0).send(make_notification())
    assert not caught.value.permanent
    assert caught.value.reason.startswith("cannot reach SMTP server 127.0.0.1:")


async def test_starttls(make_smtp_server, tls_files):
    smtp = make_smtp_server(auth=("perfbot", "s3cret"), tls=tls_files, require_starttls=True)
    await notifier(smtp, tls=tls_files, starttls=True, username="perfbot", password="s3cret").send(
        make_notification()
    )
    (mail,) = smtp.received
    assert mail.tls
    assert mail.authenticated


async def test_starttls_required_but_not_used_is_refused(make_smtp_server, tls_files):
    smtp = make_smtp_server(tls=tls_files, require_starttls=True)
    with pytest.raises(NotifyError) as caught:
        await notifier(smtp).send(make_notification())
    assert caught.value.permanent
    assert not smtp.received

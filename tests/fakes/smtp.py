"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd's `Controller` (its own thread and loop)
with a sink that records every accepted mail (`PERFBOT_EMAIL__HOST=127.0.0.1`,
`PERFBOT_EMAIL__PORT=server.port`).

Options: `auth=("user", "password")` advertises AUTH (without TLS before STARTTLS too)
and refuses bad credentials with 535 (`handled=False`: with the default an authenticator's
failure sends no reply and the client hangs); with TLS, AUTH is offered only after STARTTLS and
required; `tls=TlsFiles(...)` offers STARTTLS (`require_starttls=True` demands
it); `refuse={"x@example.com"}` rejects those
recipients with 550; `data_reply="451 4.3.0 try later"` answers DATA with that instead of 250.
aiosmtpd cannot pick its own port (`port=0` breaks its readiness check), so one is chosen here.

`self_signed_cert(dir)` makes a certificate for 127.0.0.1 with the `openssl` command (the
`cryptography` package is not a dependency); it returns None where openssl is missing."""

import email
import email.policy
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.fakes.server import free_port


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this certificate."""
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed_cert(directory: Path) -> TlsFiles | None:
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return TlsFiles(cert, key)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    authenticated: bool
    tls: bool

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Sink:
    """The aiosmtpd handler: records mails, refuses listed recipients, scripts DATA replies."""

    def __init__(self, refuse: set[str], data_reply: str | None) -> None:
        self.received: list[Received] = []
        self.refuse = refuse
        self.data_reply = data_reply

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self.data_reply is not None:
            return self.data_reply
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=bytes(envelope.original_content or envelope.content),
                authenticated=bool(session.authenticated),
                tls=session.ssl is not None,
            )
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """`with SmtpServer(...) as smtp:` or start()/stop(); `smtp.received` holds the mails."""

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        tls: TlsFiles | None = None,
        require_starttls: bool = False,
        refuse: set[str] | None = None,
        data_reply: str | None = None,
        port: int | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.sink = Sink(refuse or set(), data_reply)
        kwargs: dict[str, Any] = {"auth_require_tls": False}
        if auth is not None:
            login, password = auth[0].encode(), auth[1].encode()

            def authenticator(
                server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
            ) -> AuthResult:
                ok = isinstance(auth_data, LoginPassword) and (
                    auth_data.login,
                    auth_data.password,
                ) == (login, password)
                return AuthResult(success=ok, handled=False)

            kwargs["authenticator"] = authenticator
        if tls is not None:
            kwargs.update(tls_context=tls.server_context(), require_starttls=require_starttls)
            # with TLS, AUTH only after STARTTLS (aiosmtpd warns, an error under pytest, when
            # AUTH is required without TLS)
            kwargs.update(auth_require_tls=True, auth_required=auth is not None)
        self._controller = Controller(
            self.sink, hostname=self.host, port=self.port, ready_timeout=5, **kwargs
        )

    @property
    def received(self) -> list[Received]:
        return self.sink.received

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

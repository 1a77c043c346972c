"""`http:` — perfbot's own HTTP server: where it listens, who may use the ingest API, and the
limits that keep slow or numerous clients from stalling it.

The public listener (`host`, `port`) serves the chat endpoints (`/slack/events`,
`/mattermost/*`) and `/healthz`; it also serves `/api/v1/*` and `/metrics` unless an internal
listener (`internal: {host, port}`) is configured, which then serves those and the full
`/healthz` instead. Binding the public listener to a non-loopback address with the ingest API on
it and no `ingest_tokens` is a configuration error: anyone who can reach `/slack/events` could
then fire pages."""

import ipaddress
import json
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from bot.config.section import Section

MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine: `localhost` or a loopback
    address (127.0.0.0/8, ::1). Any other name, and the empty or wildcard address, is exposed."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


class Listener(Section):
    """A second address to listen on (`http.internal`)."""

    host: str = "127.0.0.1"
    port: int = Field(default=3001, ge=0, le=65535)


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    public_url: str | None = None  # how chat platforms reach this server, for links
    # The JSON ingest API (POST /api/v1/metrics, /api/v1/merges); false: not served at all (404).
    ingest: bool = True
    # Bearer tokens accepted on the ingest API (and on /metrics and /healthz details when they
    # are served on an exposed public listener). From the environment as a JSON list or a
    # comma-separated string: PERFBOT_HTTP__INGEST_TOKENS='["t1","t2"]' or 't1,t2'.
    ingest_tokens: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    internal: Listener | None = None  # serves /api/v1/*, /metrics and the full /healthz
    header_timeout: float = Field(default=10.0, gt=0, le=300)  # seconds to send a request head
    body_timeout: float = Field(default=10.0, gt=0, le=300)  # seconds to send a request body
    max_connections: int = Field(default=4096, ge=16, le=1_000_000)  # per listener

    @field_validator("ingest_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        """A string from the environment: a JSON list, else comma-separated tokens."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("not a JSON list of tokens (nor comma-separated tokens)") from None
        return [token.strip() for token in value.split(",") if token.strip()]

    @field_validator("ingest_tokens")
    @classmethod
    def _strong_tokens(cls, tokens: list[SecretStr]) -> list[SecretStr]:
        for i, token in enumerate(tokens):
            secret = token.get_secret_value()
            if len(secret) < MIN_TOKEN_CHARS:
                raise ValueError(
                    f"token {i + 1} has {len(secret)} characters; use at least "
                    f"{MIN_TOKEN_CHARS} random ones (e.g. `openssl rand -hex 32`)"
                )
            if any(c.isspace() or not c.isprintable() for c in secret):
                raise ValueError(f"token {i + 1} contains whitespace or control characters")
        return tokens

    @model_validator(mode="after")
    def _not_exposed_without_token(self) -> "HttpSettings":
        internal = self.internal
        if (
            internal is not None
            and self.port != 0
            and (internal.host, internal.port)
            == (
                self.host,
                self.port,
            )
        ):
            raise ValueError("http.internal must listen on another address than http.host/port")
        if self.exposes_open_ingest:
            raise ValueError(
                f"host {self.host!r} is not a loopback address and the ingest API "
                "(/api/v1/*) would be served there without a token: set http.ingest_tokens "
                "(PERFBOT_HTTP__INGEST_TOKENS), serve the API on http.internal, or turn it off "
                "with http.ingest: false"
            )
        return self

    @property
    def public_is_private(self) -> bool:
        """Whether the public listener is reachable only from this machine."""
        return is_loopback(self.host)

    @property
    def exposes_open_ingest(self) -> bool:
        """The refused configuration: ingest on an exposed public listener without a token."""
        return (
            self.ingest
            and not self.ingest_tokens
            and self.internal is None
            and not self.public_is_private
        )

    def describe(self) -> str:
        """What is served where, for `perfbot config check`."""
        api = "/api/v1/*, " if self.ingest else ""
        ingest = (
            "ingest off"
            if not self.ingest
            else f"ingest needs one of {len(self.ingest_tokens)} bearer token(s)"
            if self.ingest_tokens
            else "ingest open without a token"
        )
        if self.internal is not None:
            where = (
                f"public {self.host}:{self.port} (chat, status-only /healthz); internal "
                f"{self.internal.host}:{self.internal.port} ({api}/metrics, /healthz)"
            )
        elif self.public_is_private:
            where = f"{self.host}:{self.port} (chat, {api}/metrics, /healthz)"
        else:
            where = (
                f"{self.host}:{self.port} (chat, {api}/healthz; /metrics and health details "
                "need a token)"
            )
        return f"{where}; {ingest}"

    def token_bytes(self) -> tuple[bytes, ...]:
        """The ingest tokens as bytes, for constant-time comparison."""
        return tuple(t.get_secret_value().encode() for t in self.ingest_tokens)

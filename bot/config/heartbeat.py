"""The `heartbeat:` section: a dead-man's switch. After every successful detect cycle perfbot
calls `url` (a healthchecks.io-style ping URL, or PagerDuty's heartbeat), so that an external
monitor pages when perfbot stops. The URL is a secret: whoever has it can report perfbot
healthy, so logs show only its scheme and host (`mask_path`)."""

from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from bot.config.secrets import Secret
from bot.config.section import Section
from bot.durations import Duration


def mask_path(url: str) -> str:
    """`https://hc-ping.com/***`: the scheme and host of `url`, its user, path and query hidden
    (the token of a ping URL is in its path or query)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "***"
    if ":" in host:
        host = f"[{host}]"
    where = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme}://{where}/***" if parts.scheme else "***"


class HeartbeatSettings(Section):
    """`url` (optional; http or https) is called with `method` (GET or POST, empty body) after
    every successful detect cycle, each call bounded by `timeout` (default 10s, at most 60s).
    Redirects are not followed; a failed call is logged and never fails the cycle."""

    url: Secret | None = None
    method: Literal["GET", "POST"] = "GET"
    timeout: Duration = Field(default=timedelta(seconds=10))

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        url = value.get_secret_value()
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise ValueError(f"{mask_path(url)} is not a URL") from exc
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{mask_path(url)} must be an absolute http:// or https:// URL")
        if any(c.isspace() for c in url):
            raise ValueError(f"{mask_path(url)} must not contain spaces")
        return value

    @field_validator("timeout")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0) or value > timedelta(seconds=60):
            raise ValueError("must be more than 0s and at most 60s")
        return value

"""Secrets in the configuration. `Secret` is a `SecretStr` that, when set, must hold something:
an empty (or blank) token, signing secret, webhook secret or routing key is an error naming the
key, never a silently unauthenticated channel or an HMAC keyed with nothing. The database URL
is read here once for `config check` and start-up (`url_problem`), and shown anywhere only
through `mask_url`."""

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, SecretStr

EMPTY_SECRET = "is set but empty: give it a value, or remove it to leave it unset"
"""The error of an empty secret; `bot.config.loader` adds the environment variable's name."""
EMPTY_DATABASE_URL = "is set but empty: remove it for the embedded PostgreSQL, or give it a value"

URL_HINT = "percent-encode '@', '/', ':', '?' and '#' in the user name and password (@ → %40)"


def _not_empty(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError(EMPTY_SECRET)
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_empty)]


def mask_url(url: str) -> str:
    """`url` with any password replaced by `***`: `postgresql://user:***@host/db`. The
    credentials end at the URL's *last* `@`, so a password holding `@`, `/`, `?` or `#` is
    hidden whole (a later `@` in the path or query only hides more). A `password=` parameter
    is masked too."""
    scheme, sep, rest = url.partition("://")
    if not sep:  # no scheme: the credentials still end at the last `@`
        scheme, rest = "", url
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user, colon, password = credentials.partition(":")
        if colon and password:
            url = f"{scheme}{sep}{user}:***@{host}"
    return re.sub(r"(?i)(password=)[^&\s]+", r"\1***", url)


def url_problem(url: str) -> str | None:
    """Why the database driver could not read `url` as written, or None. The reason never
    quotes the URL: a misread URL puts pieces of the password where the host or port belong."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in ("postgres", "postgresql"):
        return "is not a postgresql://user:password@host:port/database URL"
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"cannot be read as a URL: {URL_HINT}"
    after_host = url[len(scheme) + 3 + len(parts.netloc) :]
    if parts.netloc.count("@") > 1 or "@" in after_host:
        return f"has an '@' outside the credentials: {URL_HINT}"
    for host in parts.netloc.rpartition("@")[2].split(","):
        if not _port_ok(host):
            return f"has a port that is not a number from 1 to 65535: {URL_HINT}"
    return None


def _port_ok(host: str) -> bool:
    """Whether `host[:port]` (or `[v6][:port]`) has no port or one from 1 to 65535."""
    if host.startswith("["):
        if re.fullmatch(r"\[[^\]]+\](:[0-9]+)?", host) is None:
            return False
        port = host.rpartition("]")[2].removeprefix(":")
    else:
        port = host.partition(":")[2]
    return port == "" or (port.isascii() and port.isdigit() and 0 < int(port) < 65536)


def check_database_url(value: SecretStr | None) -> SecretStr | None:
    """The `database_url` field's check: set means non-empty and readable (ValueError)."""
    if value is None:
        return None
    url = value.get_secret_value()
    if not url.strip():
        raise ValueError(EMPTY_DATABASE_URL)
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(f"{mask_url(url)} {problem}")
    return value

"""Durations as people write them in config and chat: `250ms`, `90s`, `5m`, `2h`, `7d`, `1h30m`.

`Duration` is a pydantic type that accepts those strings (and numbers of seconds, and ISO 8601
as pydantic does) and serialises back to the short form."""

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+")


def parse_duration(text: str) -> timedelta:
    """Parse `250ms`, `90s`, `5m`, `2h`, `7d`, `1w`, or a combination such as `1h30m`.

    Raises ValueError with a message that names the accepted forms."""
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned or not _WHOLE.fullmatch(cleaned):
        raise ValueError(
            f"invalid duration {text!r}: use a number and a unit, e.g. 30s, 5m, 2h, 7d or 1h30m"
        )
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(cleaned))
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"invalid duration {text!r}: too long") from None


def format_duration(delta: timedelta) -> str:
    """The shortest exact form: 300 s → `5m`, 5400 s → `1h30m`, 0.25 s → `250ms`."""
    total_ms = round(delta.total_seconds() * 1000)
    if total_ms == 0:
        return "0s"
    sign = "-" if total_ms < 0 else ""
    total_ms = abs(total_ms)
    parts: list[str] = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, total_ms = divmod(total_ms, size)
        if count:
            parts.append(f"{count}{unit}")
    if total_ms:
        parts.append(f"{total_ms}ms")
    return sign + "".join(parts)


def _coerce(value: Any) -> Any:
    if isinstance(value, str) and value.strip() and not value.strip().upper().startswith("P"):
        stripped = value.strip()
        if re.fullmatch(r"\d+(?:\.\d+)?", stripped):
            return timedelta(seconds=float(stripped))
        return parse_duration(stripped)
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]

"""Text that came back from a destination (an HTTP response body, an SMTP reply, an API error
code or message) as perfbot keeps it in `deliveries.last_error` and in its logs: control and
format characters (newlines, escape sequences, bidirectional overrides) become spaces, runs of
white space one space, and the result is at most `MAX_CHARS` characters. A hostile or broken
endpoint can then neither bloat the outbox nor forge log lines nor paint the terminal. Every
notifier passes such text through `excerpt` before putting it into an error or a log line."""

import re
import unicodedata

MAX_CHARS = 200
READ_BYTES = 4 * MAX_CHARS  # how much of a response body is worth reading at all
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_SPACES = re.compile(r"\s+")


def excerpt(text: str | bytes | None, limit: int = MAX_CHARS) -> str:
    """`text` made safe to store and log: no control characters, white space collapsed,
    stripped, at most `limit` characters (the last one `…` when it was cut). Bytes are decoded
    as UTF-8, undecodable bytes replaced."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text[: 4 * limit].decode("utf-8", errors="replace")
    head = text[: 4 * limit]  # enough for `limit` characters once control characters go
    cleaned = "".join(" " if unicodedata.category(c) in _CONTROL_CATEGORIES else c for c in head)
    cleaned = _SPACES.sub(" ", cleaned).strip()
    if len(cleaned) > limit or len(head) < len(text):
        return cleaned[: limit - 1].rstrip() + "…"
    return cleaned

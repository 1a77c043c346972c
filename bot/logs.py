"""Log set-up. Every perfbot log line has a constant message and its facts in `extra`, with an
`action` key; the text format appends those facts as `key=value`, the JSON format emits one
object per line.

Facts often carry text from outside (operation names, reasons, a destination's answer), and
libraries log such text in their messages: in both formats every control character of a
message or a fact is written escaped (`\\n`, `\\x1b`, `\\u2028`), so a value cannot end
the line and forge the next one, or drive the terminal. A traceback keeps its lines, each
indented, so no line of it can pass for a log record either."""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.excerpt import excerpt

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
# C0 and C1 controls, DEL, the Unicode line and paragraph separators and the bidi controls
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """`text` with every control character written as its Python escape (`\\n`, `\\x1b`)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _escaped(value: Any) -> Any:
    """`value` with control characters escaped in every string it holds."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_escaped(v) for v in value]
    return value


def _facts(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


def _traceback(text: str) -> str:
    """A formatted traceback for the text format: one indented line per line of it."""
    return "\n".join("    " + escape_controls(line) for line in text.split("\n"))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        facts = " ".join(
            f"{escape_controls(k)}={escape_controls(str(v))}" for k, v in _facts(record).items()
        )
        message = escape_controls(record.getMessage())
        line = f"{when}Z {record.levelname:<7} {record.name}: {message}"
        if facts:
            line += f" [{facts}]"
        if record.exc_info:
            line += "\n" + _traceback(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": escape_controls(record.getMessage()),
            **_escaped(_facts(record)),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)  # JSON escapes newlines
        return json.dumps(data, default=str)


def _client_error(error: BaseException) -> bool:
    """A request aiohttp could not read: broken framing, an undecodable body."""
    # Only aiohttp's server logs these, so aiohttp is loaded by then; importing it here keeps
    # the command line, which configures logging too, from loading aiohttp for nothing.
    from aiohttp.http_exceptions import HttpProcessingError
    from aiohttp.web import RequestPayloadError

    if isinstance(error, HttpProcessingError):
        return 400 <= error.code < 500
    return isinstance(error, RequestPayloadError)


class NoLibraryTracebacks(logging.Filter):
    """asyncpg logs every failed reconnect with a full traceback while the database is down;
    keep its one-line message and leave the diagnosis to perfbot's own `database unavailable`
    lines. aiohttp logs every malformed HTTP request (a content encoding it cannot decode,
    broken chunking) as an ERROR with a traceback: that is the client's mistake, so it becomes
    a one-line warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None:
            return True
        if record.name.startswith("asyncpg") and record.levelno < logging.ERROR:
            self._one_line(record, error)
        elif record.name == "aiohttp.server" and _client_error(error):
            self._one_line(record, error)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True

    @staticmethod
    def _one_line(record: logging.LogRecord, error: BaseException) -> None:
        record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})".replace("\n", " ")
        record.args = None
        record.exc_info = None


class LibraryAnswers(logging.Filter):
    """mattermostdriver logs the text of every error answer from the server as an ERROR of its
    own (perfbot's delivery lines carry the same failure): keep only its `excerpt`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("mattermostdriver"):
            record.msg = excerpt(record.getMessage())
            record.args = None
        return True


def configure(level: str = "INFO", fmt: str = "text", *, path: Path | None = None) -> None:
    """Send perfbot's logs to stderr (or to the file at `path`, appended) in the chosen format;
    quieten chatty libraries."""
    handler: logging.Handler = (
        logging.StreamHandler(sys.stderr)
        if path is None
        else logging.FileHandler(path, encoding="utf-8")
    )
    handler.addFilter(NoLibraryTracebacks())
    handler.addFilter(LibraryAnswers())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "apscheduler",
        "aiohttp.access",
        "pgserver",
        "matplotlib",
        "slack_bolt",
        "slack_sdk",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))

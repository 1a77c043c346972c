"""Log lines cannot be forged: a control character in a message or a fact (an operation name
with a newline, an escape sequence, a Unicode line separator) is written escaped in both
formats, and a traceback's lines are indented, so every record is one line starting with its
timestamp."""

import json
import logging
import sys

import pytest

from bot import logs
from bot.logs import JsonFormatter, TextFormatter, escape_controls

FORGED = "commit\n2026-11-27T06:00:00.000Z CRITICAL bot.alerts: all clear [action=resolved]"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain name", "plain name"),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("tab\there", "tab\\there"),
        ("\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07"),
        ("nul\x00del\x7fnel\x85", "nul\\x00del\\x7fnel\\x85"),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("bidi\u202eevil\u2066", "bidi\\u202eevil\\u2066"),
        ("ünïcødé ✓ 漢字", "ünïcødé ✓ 漢字"),
    ],
)
def test_control_characters_are_escaped(text: str, escaped: str) -> None:
    assert escape_controls(text) == escaped


def record(message: str = "alert fired", exc: bool = False, **facts: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad name {FORGED}")
        except ValueError:
            exc_info = sys.exc_info()
    r = logging.LogRecord("bot.alerts", logging.INFO, __file__, 1, message, None, exc_info)
    r.__dict__.update({"action": "alert_fired", **facts})
    return r


@pytest.mark.parametrize(
    "rec",
    [
        record(operation=FORGED),
        record(message=FORGED),
        record(operations=[FORGED, "merge"], details={"name": FORGED}),
        record(operation="x\u2028" + FORGED + "\x1b[2J"),
    ],
    ids=["fact", "message", "nested facts", "separators"],
)
def test_a_text_record_is_one_line(rec: logging.LogRecord) -> None:
    line = TextFormatter().format(rec)
    assert "\n" not in line
    assert "\r" not in line
    assert line.isprintable()
    assert "commit\\n2026-11-27T06:00:00.000Z CRITICAL" in line


def test_a_json_record_is_one_line_and_its_values_hold_no_control_characters() -> None:
    rec = record(message=FORGED, operation=FORGED, operations=[FORGED], details={"n": FORGED})
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    data = json.loads(line)
    for value in (data["message"], data["operation"], data["operations"][0], data["details"]["n"]):
        assert value.isprintable()
        assert value.startswith("commit\\n2026-11-27T06:00:00.000Z CRITICAL")


def test_every_line_of_a_traceback_is_indented() -> None:
    text = TextFormatter().format(record(exc=True, operation=FORGED))
    first, *rest = text.split("\n")
    assert first.endswith("]")
    assert rest
    assert rest[0] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in rest)
    assert not any(line.startswith("2026-11-27") for line in rest)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_configured_handler_writes_one_line_per_record(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("INFO", fmt)
        logging.getLogger("bot.alerts").warning(
            "alert fired", extra={"action": "alert_fired", "operation": FORGED}
        )
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "CRITICAL bot.alerts: all clear" in lines[0]  # there, but inside the one record


def test_a_library_logging_a_server_answer_keeps_only_an_excerpt(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("INFO", "text")
        # what mattermostdriver does with the text of every error answer
        logging.getLogger("mattermostdriver.websocket").error(FORGED + "\x1b[2J" + "A" * 50_000)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    [line] = capsys.readouterr().err.splitlines()
    message = line.partition("mattermostdriver.websocket: ")[2]
    assert len(message) == 200
    assert message.startswith("commit 2026-11-27T06:00:00.000Z CRITICAL bot.alerts: all clear")

"""The on-call verbs' command lines: every verb parses (and has --help) and becomes the `/perf`
command of the same name, each word whole, so notes with spaces or quotes survive."""

import pytest

from bot.cli import build_parser
from bot.cli_alerts import ALERT_VERBS, SILENCE_VERBS, _words, chat_text
from bot.commands import build_registry
from bot.commands.registry import split


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["alerts", "list"], "alerts"),
        (["alerts", "list", "acked"], "alerts acked"),
        (["alerts", "show", "42"], "alert 42"),
        (["alerts", "ack", "42", "on it", "now"], "ack 42 'on it' now"),
        (["alerts", "unack", "42"], "unack 42"),
        (["alerts", "escalate", "42", "db's on fire"], "escalate 42 'db'\"'\"'s on fire'"),
        (["alerts", "resolve", "7"], "resolve 7"),
        (["silences", "list"], "silences"),
        (["silences", "add", "merge*", "2h", "deploy"], "silence 'merge*' 2h deploy"),
        (["silences", "expire", "3"], "unsilence 3"),
    ],
)
def test_each_verb_is_the_chat_command_of_the_same_name(argv: list[str], text: str) -> None:
    args = build_parser().parse_args(argv)
    verbs = ALERT_VERBS if argv[0] == "alerts" else SILENCE_VERBS
    sub = args.alerts_command if argv[0] == "alerts" else args.silences_command
    made = chat_text(verbs[sub], _words(args))
    assert made == text
    assert split(made) == [verbs[sub], *argv[2:]]
    command, _ = build_registry().lookup(split(made))
    assert command.name == verbs[sub]


@pytest.mark.parametrize(
    "argv",
    [
        ["alerts", "--help"],
        *(["alerts", verb, "--help"] for verb in ALERT_VERBS),
        ["silences", "--help"],
        *(["silences", verb, "--help"] for verb in SILENCE_VERBS),
        ["notify", "test", "--help"],
    ],
)
def test_every_verb_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: perfbot {' '.join(argv[:-1])}")


def test_an_unknown_selection_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["alerts", "list", "closed"])
    assert exited.value.code == 2

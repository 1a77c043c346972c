"""Text from outside reaches the terminal literally, never as Rich markup: a `[/bold]` in a path,
a CSV value or an operation name used to turn the command line's clean error into a Rich
`MarkupError` traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

MARKUP = "[/bold][red]x[/red][link=evil.example]y"


def test_an_ingest_error_quoting_markup_is_printed_literally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / MARKUP / "metrics.csv"
    assert main(["ingest", str(missing)]) == 1
    err = capsys.readouterr().err
    assert f"rejected, nothing stored: cannot read {missing}" in err.replace("\n", "")


def test_a_config_error_quoting_markup_is_printed_literally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "perfbot.yml"
    config.write_text(f"routes:\n  - name: r\n    notify: ['{MARKUP}']\n")
    assert main(["config", "check", "--config", str(config)]) == 2
    assert f"unknown channel '{MARKUP}'" in capsys.readouterr().err


def test_route_test_prints_an_operation_name_literally(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "test", "--severity", "WARNING", "--operation", MARKUP]) == 0
    assert f"WARNING statistical on {MARKUP}" in capsys.readouterr().out


def test_the_real_command_line_shows_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFBOT_")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(tmp_path / MARKUP / "m.csv")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert MARKUP in done.stderr.replace("\n", "")

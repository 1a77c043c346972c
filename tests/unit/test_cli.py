"""The command line: help everywhere, route dry runs, config check, exit codes."""

import json
from pathlib import Path

import pytest

from bot.cli import build_parser, main

COMMANDS = [
    [],
    ["run"],
    ["demo"],
    ["db"],
    ["db", "migrate"],
    ["db", "status"],
    ["ingest"],
    ["config"],
    ["config", "check"],
    ["route"],
    ["route", "test"],
    ["chat"],
    ["rollups"],
    ["rollups", "rebuild"],
]


def test_rollups_rebuild_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["rollups", "rebuild", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--since WHEN" in out
    assert "resumes where it stopped" in out
    assert "ISO 8601 timestamp" in out


def test_rollups_rebuild_refuses_a_bad_since(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    from bot import errors
    from bot.cli_actions import _since

    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert _since("2d", now) == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert _since("2026-11-01T00:00", now) == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(errors.BadArguments, match="neither a duration"):
        _since("last week", now)
    with pytest.raises(errors.BadArguments, match="not in the past"):
        _since("2027-01-01", now)


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "perfbot")
def test_every_command_has_help(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*words, "--help"])
    assert exited.value.code == 0
    assert "usage: perfbot" in capsys.readouterr().out


def test_route_test_explains_the_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "perfbot.yml"
    config.write_text(
        "channels:\n  hook: {type: webhook, url: 'http://127.0.0.1:9/x'}\n  pager: {type: webhook, url: 'http://127.0.0.1:9/y'}\n"
        "routes:\n  - name: merges\n    match: {operation: 'merge*'}\n    notify: [hook]\n"
        "    escalation: [{after: 10m, notify: [pager], mention: ['@dba']}]\n"
    )
    assert (
        main(
            [
                "route",
                "test",
                "--config",
                str(config),
                "--severity",
                "WARNING",
                "--operation",
                "merge_branches",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "route:      merges" in out
    assert "channels:   hook" in out
    assert "after 10m → pager (mention @dba)" in out
    assert (
        main(
            [
                "route",
                "test",
                "--config",
                str(config),
                "--severity",
                "CRITICAL",
                "--operation",
                "commit",
                "--json",
            ]
        )
        == 0
    )
    decision = json.loads(capsys.readouterr().out)
    assert decision["route"] == "default"
    assert decision["explanation"][0].startswith("route 'merges' (#1): no match")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--severity", "LOUD", "--operation", "commit"], "unknown severity 'LOUD'"),
        (
            ["--severity", "INFO", "--kind", "weird", "--operation", "commit"],
            "unknown kind 'weird'",
        ),
        (
            [
                "--severity",
                "INFO",
                "--kind",
                "bottleneck",
                "--bottleneck",
                "NOPE",
                "--operation",
                "a",
            ],
            "unknown bottleneck 'NOPE'",
        ),
    ],
)
def test_route_test_rejects_bad_arguments(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["route", "test", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--severity", "INFO", "--label", "team"], "write it as name=value"),
        (["--severity", "INFO"], "give --operation OP (or --label K=V"),
    ],
)
def test_route_test_rejects_bad_labels(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["route", "test", *args]) == 2
    assert message in capsys.readouterr().err


def test_route_test_with_labels_matches_a_label_route_and_shows_the_people_it_pages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "routes.yml"
    config.write_text(
        "channels: {hook: {type: webhook, url: 'http://127.0.0.1:9/x'}}\n"
        "people: {ada: {email: ada@x.test}}\n"
        "oncall: {schedules: {primary: {timezone: UTC, layers: "
        "[{rotation: weekly, start: 2026-01-05, participants: [ada]}]}}}\n"
        "routes:\n"
        "  - {name: db, match: {labels: {team: db}}, notify: [hook],\n"
        "     escalation: [{after: 10m, notify: ['oncall:primary']}]}\n"
    )
    base = ["route", "test", "--config", str(config), "--severity", "WARNING"]
    assert main([*base, "--label", "team=db", "--label", "env=prod"]) == 0
    out = capsys.readouterr().out
    assert "WARNING external" in out
    assert "labels:     team=db, env=prod" in out
    assert "route:      db" in out
    assert "after 10m → oncall:primary" in out
    assert main([*base, "--label", "team=web"]) == 0
    assert "route:      default" in capsys.readouterr().out


def test_config_check_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.yml"
    config.write_text(
        "detection: {interval: 5x}\nroutes: [{name: r, notify: [nowhere]}]\nextra: 1\n"
    )
    assert main(["config", "check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "detection.interval" in err
    assert "extra" in err


def test_config_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check"]) == 0
    assert "configuration OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "config", "verbose"),
    [
        (["--config", "a.yml", "detect", "--once"], "a.yml", False),
        (["detect", "--once", "--config", "a.yml"], "a.yml", False),
        (["-v", "--config", "a.yml", "db", "status"], "a.yml", True),
        (["db", "status", "-v"], None, True),
        (["--config", "a.yml", "config", "check", "--config", "b.yml"], "b.yml", False),
        (["detect", "--once"], None, False),
    ],
)
def test_global_options_count_before_and_after_the_command(
    argv: list[str], config: str | None, verbose: bool
) -> None:
    args = build_parser().parse_args(argv)
    assert args.config == (Path(config) if config else None)
    assert args.verbose is verbose


def test_config_given_before_the_command_is_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "perfbot.yml"
    path.write_text("detection: {z_warning: -1}\n")
    assert main(["--config", str(path), "config", "check"]) == 2
    assert "detection.z_warning" in capsys.readouterr().err

"""Secrets through the real command line. A bad or unreachable `PERFBOT_DATABASE_URL`: every
command that reads it answers with one clean line showing the URL as `user:***@host`, never a
traceback and never a piece of the password (`pa/ss` used to surface as the port `pa` in
asyncpg's traceback; a password with `@` was half-masked). An empty secret: `perfbot run` and
`perfbot config check` refuse to start, naming it (it used to pass)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.server import free_port

MISREAD = "postgresql://u:pa/ss@localhost/db"
COMMANDS = [["db", "migrate"], ["detect", "--once"], ["run"], ["config", "check"]]


def perfbot(
    args: list[str], url: str, cwd: Path, **variables: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFBOT_")}
    env["PERFBOT_DATABASE_URL"] = url
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_clean(done: subprocess.CompletedProcess[str], *secrets: str) -> str:
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    for secret in secrets:
        assert secret not in output, output
    return output


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_url_the_driver_would_misread_is_a_clean_masked_error(
    args: list[str], tmp_path: Path
) -> None:
    done = perfbot(args, MISREAD, tmp_path)
    output = assert_clean(done, "pa/ss", ":pa", "ss@")
    assert done.returncode == 2
    assert (
        "database_url: postgresql://u:***@localhost/db has an '@' outside the credentials" in output
    )
    assert "percent-encode" in output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:p@ss@localhost/db", "postgresql://u:***@localhost/db"),
        ("postgresql://u:pw@localhost:99999/db", "postgresql://u:***@localhost:99999/db"),
        (
            "postgresql://u:s3cret@localhost/db?sslmode=bogus",
            "postgresql://u:***@localhost/db?sslmode=bogus",
        ),
    ],
)
def test_other_unreadable_urls_are_clean_masked_errors(
    url: str, shown: str, tmp_path: Path
) -> None:
    done = perfbot(["db", "migrate"], url, tmp_path)
    output = assert_clean(done, "p@ss", "pw@", "s3cret")
    assert done.returncode == 2
    assert f"database_url: {shown}" in output


@pytest.mark.parametrize("args", [["db", "migrate"], ["run"]], ids=" ".join)
def test_an_unreachable_server_is_a_clean_masked_error(args: list[str], tmp_path: Path) -> None:
    port = free_port()
    done = perfbot(args, f"postgresql://u:s3cr%2Fet%40x@127.0.0.1:{port}/db", tmp_path)
    output = assert_clean(done, "s3cr")
    assert done.returncode == 1
    assert f"cannot connect to postgresql://u:***@127.0.0.1:{port}/db" in output


@pytest.mark.parametrize("args", [["run"], ["config", "check"]], ids=" ".join)
@pytest.mark.parametrize(
    "variable", ["PERFBOT_SLACK__SIGNING_SECRET", "PERFBOT_MATTERMOST__ACTIONS_SECRET"]
)
def test_an_empty_secret_stops_the_bot_from_starting(
    args: list[str], variable: str, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens: a start that got past the check would fail to connect
    done = perfbot(args, f"postgresql://u:pw@127.0.0.1:{port}/db", tmp_path, **{variable: ""})
    output = assert_clean(done)
    assert done.returncode == 2
    key = variable.removeprefix("PERFBOT_").replace("__", ".").lower()
    assert f"{key}: is set but empty" in output
    assert variable in output

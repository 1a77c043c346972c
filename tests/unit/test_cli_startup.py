"""The command line starts light: `import bot.cli` loads no chat SDK, database driver, numpy,
scheduler, plotting or rich, and pydantic only once a command runs; `perfbot config check`
loads none of the heavy ones either, nor rich; the database commands (db, ingest, detect, …)
load the store but no chat SDK. Checked in a fresh interpreter through `sys.modules`, not by
timing. Every subcommand's `module:function` names a coroutine function."""

import argparse
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bot.cli import build_parser, load

HEAVY = (
    *("slack_bolt", "slack_sdk", "mattermostdriver", "requests", "numpy", "asyncpg"),
    *("aiohttp", "apscheduler", "matplotlib", "aiosmtplib", "pgserver", "prometheus_client"),
)

CHAT = ("slack_bolt", "slack_sdk", "mattermostdriver", "requests", "aiosmtplib", "matplotlib")

IMPORT_CLI = "import bot.cli"
DATABASE_COMMANDS = "import bot.cli_actions"  # db, ingest, detect, …: the store, not the bot
CONFIG_CHECK = "from bot.cli import main; main(['config', 'check'])"


def loaded_by(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running `code`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFBOT_")}
    script = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)), file=sys.stderr)"
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return {name.partition(".")[0] for name in done.stderr.split()}


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        (IMPORT_CLI, (*HEAVY, "rich", "pydantic", "pydantic_settings", "yaml")),
        (CONFIG_CHECK, (*HEAVY, "rich")),
        (DATABASE_COMMANDS, CHAT),
    ],
    ids=["import bot.cli", "config check", "database commands"],
)
def test_start_up_loads_only_what_the_command_needs(code: str, absent: tuple[str, ...]) -> None:
    assert sorted(loaded_by(code) & set(absent)) == []


def actions(parser: argparse.ArgumentParser) -> Iterator[str]:
    handler = parser.get_default("handler")
    if handler is not None:
        yield handler
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from actions(sub)


def test_every_subcommand_names_a_coroutine_function() -> None:
    found = list(actions(build_parser()))
    assert len(found) == 23  # 12, then alerts (6 verbs), silences (3), notify test and oncall
    for action in found:
        assert inspect.iscoroutinefunction(load(action)), action

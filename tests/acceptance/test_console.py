"""The console front end as a user runs it: `perfbot chat "/perf …"` in a subprocess prints the
reply and exits 0, or 1 when the command was refused; without a command it reads commands from
stdin until EOF or quit."""

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from rich.console import Console

from bot.alerts import AlertService
from bot.app import Bot
from bot.chat.console import repl
from bot.clock import SystemClock
from bot.config import Settings
from bot.models import ActorSource, AlertStatus
from bot.store import Store
from tests.seed import seed


def chat(
    db_url: str, *args: str, stdin: str | None = None, stdin_file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFBOT_")}
    env |= {"PERFBOT_DATABASE_URL": db_url, "USER": "carol", "LOGNAME": "carol"}
    with stdin_file.open() if stdin_file else contextlib.nullcontext() as source:
        return subprocess.run(
            [sys.executable, "-m", "bot", "chat", *args],
            input=stdin,
            stdin=source,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


async def test_one_command_prints_the_reply(db_url: str, store: Store) -> None:
    world = await seed(
        store, AlertService(store, Settings.load(), SystemClock()), SystemClock().now()
    )
    listed = chat(db_url, "/perf alerts")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("2 open alerts\n")
    assert "merge latency anomaly" in listed.stdout

    alert = world.alerts["commit"]
    acked = chat(db_url, f"ack {alert.id} from the terminal")
    assert acked.returncode == 0, acked.stderr
    assert f"Alert #{alert.id} acknowledged by carol" in acked.stdout
    stored = await store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.ACKNOWLEDGED
    [*_, event] = await store.alerts.events(alert.id)
    assert (event.actor, event.source) == ("carol (console)", ActorSource.CONSOLE)

    refused = chat(db_url, "/perf ack 4242")
    assert refused.returncode == 1
    assert refused.stdout.strip() == "error: there is no alert #4242"


async def test_the_prompt_reads_commands_until_quit(
    db_url: str, store: Store, tmp_path: Path
) -> None:
    session = chat(db_url, stdin="help\n\nstatus\nquit\nalerts\n")
    assert session.returncode == 0, session.stderr
    assert "perfbot commands" in session.stdout
    assert "perfbot 0.1.0" in session.stdout
    assert "open alerts" not in session.stdout  # after quit
    script = tmp_path / "commands.txt"
    script.write_text("silences\nack 77\n")
    scripted = chat(db_url, stdin_file=script)  # a redirected file, read to its end
    assert scripted.returncode == 1  # one command failed
    assert "No active silences." in scripted.stdout
    assert "error: there is no alert #77" in scripted.stdout


async def test_the_demo_prompt_runs_against_a_live_bot(store: Store) -> None:
    settings = Settings.load()
    bot = Bot.build(settings, store, SystemClock())
    world = await seed(store, bot.alerts, bot.clock.now())
    out = io.StringIO()

    async def typed() -> AsyncIterator[str]:
        for line in ("/perf alerts\n", f"ack {world.alerts['merge'].id}\n", "quit\n", "help\n"):
            yield line

    await repl(bot, Console(file=out, width=200), typed())
    text = out.getvalue()
    assert "2 open alerts" in text
    assert f"Alert #{world.alerts['merge'].id} acknowledged by" in text
    assert "perfbot commands" not in text


def test_the_prompt_ends_at_once_on_dev_null(db_url: str) -> None:
    """`perfbot chat < /dev/null` (a device epoll refuses) ends at EOF instead of hanging."""
    result = chat(db_url, stdin_file=Path(os.devnull))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

"""`perfbot alerts …`, `perfbot silences …` and `perfbot notify test` as processes against real
PostgreSQL: each verb runs the chat command of the same name as the console user, so it acts,
is audited under `console` and is refused by the same permissions; exit codes say which."""

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.alerts import AlertService
from bot.clock import SystemClock
from bot.config import Settings
from bot.models import ActorSource, AlertStatus
from bot.store import Store
from tests.seed import World, seed


async def perfbot(
    db_url: str, config: Path | None, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run `python -m bot ARGS`; (exit code, stdout, stderr)."""
    options = ["--config", str(config)] if config is not None else []
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *options,
        *args,
        env={**os.environ, "PERFBOT_DATABASE_URL": db_url, "COLUMNS": "200", **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def write_config(tmp_path: Path, **values: Any) -> Path:
    path = tmp_path / "perfbot.yml"
    path.write_text(yaml.safe_dump(values))
    return path


async def seeded(store: Store) -> World:
    return await seed(store, AlertService(store, Settings.load(), SystemClock()), datetime.now(UTC))


async def test_alert_verbs_act_through_the_chat_commands(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    world = await seeded(store)
    alert = world.alerts["merge"]
    config = write_config(tmp_path, permissions={"resolve": ["console"]})

    code, out, _ = await perfbot(db_url, config, "alerts", "list")
    assert code == 0
    assert f"#{alert.id}" in out
    assert "Acknowledge" in out

    code, out, _ = await perfbot(db_url, config, "alerts", "ack", str(alert.id), "on it", "now")
    assert code == 0, out
    assert f"Alert #{alert.id} acknowledged by" in out
    assert "Note: on it now" in " ".join(out.split())
    stored = await store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.ACKNOWLEDGED
    [*_, event] = await store.alerts.events(alert.id)
    assert (event.action, event.source) == ("acknowledged", ActorSource.CONSOLE)
    assert event.details.get("note") == "on it now"

    code, out, _ = await perfbot(db_url, config, "alerts", "show", str(alert.id))
    assert code == 0
    assert f"Alert #{alert.id}:" in out
    assert "acknowledged" in out  # the history
    assert f"{'resolve'} {alert.id}" in out  # the buttons as commands

    code, out, _ = await perfbot(db_url, config, "alerts", "resolve", str(alert.id))
    assert code == 0, out
    stored = await store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.RESOLVED


async def test_resolve_is_refused_without_permission_and_exits_1(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    world = await seeded(store)
    alert = world.alerts["merge"]
    code, out, _ = await perfbot(db_url, None, "alerts", "resolve", str(alert.id))
    assert code == 1
    assert "you are not allowed to resolve alerts" in out
    assert "permissions.resolve" in out
    stored = await store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.OPEN
    code, out, _ = await perfbot(db_url, None, "alerts", "show", "999999")
    assert code == 1
    assert "there is no alert #999999" in out


async def test_silence_verbs_add_list_expire(store: Store, db_url: str, tmp_path: Path) -> None:
    await seeded(store)
    config = write_config(tmp_path, permissions={"silence": ["console"]})
    code, out, _ = await perfbot(
        db_url, config, "silences", "add", "commit", "2h", "deploying", "v2"
    )
    assert code == 0, out
    [created] = await store.alerts.active_silences(datetime.now(UTC))
    assert created.reason == "deploying v2"
    assert created.created_by.endswith("(console)")

    code, out, _ = await perfbot(db_url, config, "silences", "list")
    assert code == 0
    assert f"#{created.id}" in out
    assert "deploying v2" in out

    code, out, _ = await perfbot(db_url, config, "silences", "expire", str(created.id))
    assert code == 0, out
    assert await store.alerts.active_silences(datetime.now(UTC)) == []


@pytest.mark.parametrize(
    ("channel", "code", "where", "text"),
    [
        ("terminal", 0, "out", "terminal (console): delivered"),
        ("nowhere", 2, "err", "no channel named 'nowhere' (channels: hook, terminal)"),
        ("hook", 1, "out", "hook (webhook): refused"),
    ],
)
async def test_notify_test_exit_codes(
    db_url: str, tmp_path: Path, channel: str, code: int, where: str, text: str
) -> None:
    config = write_config(
        tmp_path,
        channels={
            "terminal": {"type": "console"},
            # a closed port: the connection is refused at once
            "hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
        },
    )
    got, out, err = await perfbot(db_url, config, "notify", "test", channel)
    assert got == code, (out, err)
    assert text in (out if where == "out" else err)
    if channel == "terminal":
        assert "TEST message from perfbot" in out

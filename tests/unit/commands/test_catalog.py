"""perfbot's own registry, built explicitly: every command once, in the order `/perf help`
lists them, and a fresh registry per call (nothing registers on import)."""

from typing import cast

import pytest

from bot.commands import build_registry
from bot.commands.context import CommandContext
from bot.commands.reply import Table
from bot.models import ActorSource
from bot.routing.transition import Actor

CTX = cast(
    CommandContext,
    type("Ctx", (), {"user": Actor(user_name="alice", source=ActorSource.CONSOLE)})(),
)

NAMES = [
    *("help", "anomalies", "alerts", "alert", "ack", "unack", "escalate", "resolve"),
    *("silence", "silences", "unsilence", "bottlenecks", "trends", "merges", "baselines"),
    *("jobs", "status", "route test", "test", "oncall", "override", "overrides", "unoverride"),
]
REGISTRATION = [
    *("alerts", "alert", "ack", "unack", "escalate", "resolve", "test"),
    *("anomalies", "bottlenecks", "baselines"),
    *("help", "merges", "oncall", "override", "overrides", "unoverride"),
    *("silence", "silences", "unsilence", "jobs", "status", "route test"),
    "trends",
]


def test_every_command_is_registered_once_in_module_order() -> None:
    assert [c.name for c in build_registry().commands] == REGISTRATION


@pytest.mark.parametrize(
    ("alias", "name"), [("acknowledge", "ack"), ("unacknowledge", "unack"), ("?", "help")]
)
def test_aliases(alias: str, name: str) -> None:
    found = build_registry().get(alias)
    assert found is not None
    assert found.name == name


def test_each_build_is_a_new_registry() -> None:
    first, second = build_registry(), build_registry()
    assert first is not second
    assert [c.name for c in first.commands] == [c.name for c in second.commands]


async def test_help_lists_every_command_in_the_house_order() -> None:
    registry = build_registry()
    reply = await registry.dispatch("help", CTX)
    [listing] = [b for b in reply.blocks if isinstance(b, Table)]
    usages = {f"/perf {c.usage}": c.name for c in registry.commands}
    assert [usages[row[0]] for row in listing.rows] == NAMES

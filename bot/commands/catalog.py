"""Every `/perf` command perfbot has: `build_registry` makes a fresh `Registry` of them, and
the composition roots (`bot.app`, the console) hand it to `Commands`. Nothing registers on
import; each command module adds its own commands in its `register(registry)`."""

from collections.abc import Callable

from bot.commands import (
    alerts,
    channels,
    findings,
    help,
    merges,
    oncall,
    silences,
    system,
    trends,
)
from bot.commands.registry import Registry

GROUPS: tuple[Callable[[Registry], None], ...] = (
    alerts.register,
    channels.register,
    findings.register,
    help.register,
    merges.register,
    oncall.register,
    silences.register,
    system.register,
    trends.register,
)
"""Each command module's `register`, in registration order (which `/perf help` keeps for
commands missing from its own `ORDER`)."""


def build_registry() -> Registry:
    """A new registry holding every command of every module in `GROUPS`."""
    registry = Registry()
    for register in GROUPS:
        register(registry)
    return registry

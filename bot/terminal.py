"""How `perfbot` subcommands talk to the terminal: their exit codes, the signature of an action,
and the rich consoles they print on (stdout for results, stderr for errors and progress). Rich
loads only when something is printed, so `perfbot --help` stays quick."""

import argparse
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from bot.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace, "Settings"], Coroutine[Any, Any, int]]
"""What a subcommand runs once its arguments are parsed: the exit code."""


def out() -> "Console":
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def err_console() -> "Console":
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)

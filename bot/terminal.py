"""How `perfbot` subcommands talk to the terminal: their exit codes, the signature of an action,
and the rich consoles they print on (stdout for results, stderr for errors and progress). Rich
loads only when something is printed, so `perfbot --help` stays quick.

Text that came from outside (operation names, CSV values, paths, URLs, error messages quoting
them) is never Rich markup: print it with `markup=False`, as `rich.text.Text`, or through
`literal` inside a markup string; errors go through `error`."""

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


def error(message: str) -> None:
    """Print `message` on stderr in red, literally (it quotes user input: `[/bold]` in a CSV
    value is text, not a closing tag)."""
    err_console().print(message, style="red", markup=False)


def literal(text: object) -> str:
    """`text` escaped for use inside a Rich markup string."""
    from rich.markup import escape

    return escape(str(text))

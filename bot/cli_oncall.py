"""`perfbot oncall [SCHEDULE] [--at TIME] [--next N]`: the `/perf oncall` command run through
the one command registry as the console user (`perfbot chat`'s path), so the answer is the
chat's. Exit codes: 0 shown; 1 the command failed (unknown schedule, bad time, database)."""

import argparse
import shlex

from bot.config import Settings


def chat_text(args: argparse.Namespace) -> str:
    """The `/perf oncall` command line for the parsed arguments, each word kept whole."""
    words = ["oncall"]
    if args.schedule:
        words.append(args.schedule)
    if args.at:
        words += ["--at", args.at]
    if args.next:
        words += ["--next", str(args.next)]
    return shlex.join(words)


async def cmd_oncall(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli_actions import cmd_chat

    return await cmd_chat(argparse.Namespace(text=chat_text(args)), settings)

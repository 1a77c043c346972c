"""The on-call verbs of `perfbot` (amtool-like): `alerts list|show|ack|unack|escalate|resolve`
and `silences list|add|expire` run the `/perf` command that does the same through the one
command registry, as the console user (`perfbot chat`'s path: same permissions, audit and
replies), so there is no second implementation of any action. `notify test CHANNEL` sends a
marked test card through a configured channel (`bot.notify.probe`) and needs no database.

Exit codes: 0 done; 1 the command was refused or failed (for `notify test`: the platform
refused); 2 bad usage, unknown channel or configuration."""

import argparse
import json
import shlex

from bot.clock import SystemClock
from bot.config import Settings
from bot.store import Store
from bot.terminal import EXIT_FAILED, EXIT_OK, literal
from bot.terminal import out as _out

ALERT_VERBS = {
    "list": "alerts",
    "show": "alert",
    "ack": "ack",
    "unack": "unack",
    "escalate": "escalate",
    "resolve": "resolve",
}
SILENCE_VERBS = {"list": "silences", "add": "silence", "expire": "unsilence"}


def chat_text(verb: str, words: list[str]) -> str:
    """The `/perf` command line for `verb` and its words, each word kept whole (a note with
    spaces stays one note; quotes in it survive)."""
    return shlex.join([verb, *words])


async def _run(settings: Settings, text: str) -> int:
    from bot.chat import console

    store = await Store.connect(settings)
    try:
        return await console.main(settings, store, text, _out().out)
    finally:
        await store.close()


def _words(args: argparse.Namespace) -> list[str]:
    words: list[str] = []
    for name in ("selection", "id", "matcher"):
        value = getattr(args, name, None)
        if isinstance(value, list):
            words += value
        elif value is not None:
            words.append(str(value))
    return words + list(getattr(args, "text", None) or [])


async def cmd_alerts(args: argparse.Namespace, settings: Settings) -> int:
    return await _run(settings, chat_text(ALERT_VERBS[args.alerts_command], _words(args)))


async def cmd_silences(args: argparse.Namespace, settings: Settings) -> int:
    return await _run(settings, chat_text(SILENCE_VERBS[args.silences_command], _words(args)))


async def cmd_notify_test(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat.console import local_user
    from bot.notify.probe import ChannelTester

    tester = ChannelTester(settings, SystemClock().now)
    result = await tester.test(args.channel, local_user().label)
    out = _out()
    if args.json:
        out.print_json(json.dumps(result.model_dump(mode="json")))
    else:
        mark = "[green]delivered[/]" if result.delivered else "[red]refused[/]"
        out.print(f"{literal(result.channel)} ({literal(result.kind)}): {mark}")
        out.print(f"  answer: {literal(result.answer)}")
        if result.hint:
            out.print(f"  fix:    {literal(result.hint)}")
    return EXIT_OK if result.delivered else EXIT_FAILED

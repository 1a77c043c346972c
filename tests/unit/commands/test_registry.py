"""The registry's mechanics with toy commands and no database: word splitting, lookup of
two-word commands and aliases, help, and the translation of every failure into a reply."""

import asyncio
import logging
from typing import Any, cast

import pytest

from bot import errors
from bot.commands.context import CommandContext
from bot.commands.registry import Registry, split
from bot.commands.reply import Paragraph, Reply, Table, table
from bot.models import ActorSource
from bot.routing.transition import Actor

CTX = cast(
    CommandContext,
    type("Ctx", (), {"user": Actor(user_name="alice", source=ActorSource.CONSOLE)})(),
)


def toy() -> Registry:
    r = Registry()

    @r.command("echo", "echo <words>", "say it back", aliases=("say",))
    async def echo(ctx: CommandContext, args: list[str]) -> Reply:
        return Reply(text=" ".join(args))

    @r.command("poke", "poke <id>", "change something", mutating=True)
    async def poke(ctx: CommandContext, args: list[str]) -> Reply:
        if not args:
            raise errors.BadArguments("poke what?")
        if args[0] == "missing":
            raise errors.NotFound("there is no such thing")
        return Reply(text="poked")

    @r.command("route test", "route test <x>", "two words")
    async def route_test(ctx: CommandContext, args: list[str]) -> Reply:
        return Reply(text=f"tested {args}")

    @r.command("boom", "boom", "crashes")
    async def boom(ctx: CommandContext, args: list[str]) -> Reply:
        raise RuntimeError("secret internals")

    @r.command("store", "store", "database trouble")
    async def store(ctx: CommandContext, args: list[str]) -> Reply:
        raise errors.DatabaseUnavailable("connection refused on 10.0.0.5")

    @r.command("slow", "slow", "never ends")
    async def slow(ctx: CommandContext, args: list[str]) -> Reply:
        await asyncio.sleep(3600)
        return Reply(text="done")

    return r


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("/perf ack 42 looking into it", ["ack", "42", "looking", "into", "it"]),
        ('silence commit 2h "deploy of v2"', ["silence", "commit", "2h", "deploy of v2"]),
        ("silence commit 2h “deploy of v2”", ["silence", "commit", "2h", "deploy of v2"]),
        ("ack 4 it's mine", ["ack", "4", "it's", "mine"]),
        ("  ", []),
        ("/PERF", []),
    ],
)
def test_split(text: str, words: list[str]) -> None:
    assert split(text) == words


async def test_dispatch_finds_commands_aliases_and_two_word_names() -> None:
    r = toy()
    assert (await r.dispatch("echo hello world", CTX)).text == "hello world"
    assert (await r.dispatch("/perf SAY hi", CTX)).text == "hi"
    assert (await r.dispatch("route test a b", CTX)).text == "tested ['a', 'b']"
    poked = await r.dispatch("poke 1", CTX)
    assert poked.in_channel
    assert not poked.error
    assert not (await r.dispatch("echo x", CTX)).in_channel


async def test_failures_become_replies() -> None:
    r = toy()
    bad = await r.dispatch("poke", CTX)
    assert bad.error
    assert not bad.in_channel
    assert bad.text == "poke what?"
    assert bad.blocks == (Paragraph("usage: /perf poke <id>", mono=True),)
    missing = await r.dispatch("poke missing", CTX)
    assert (missing.text, missing.error, missing.in_channel) == (
        "there is no such thing",
        True,
        False,
    )
    assert (
        await r.dispatch("ehco", CTX)
    ).text == "unknown command 'ehco'. Did you mean echo? Try /perf help."
    assert (await r.dispatch("route", CTX)).text == "route needs a subcommand: /perf route test <x>"
    database = await r.dispatch("store", CTX)
    assert database.text == "perfbot cannot reach its database right now; try again shortly"
    assert (await r.dispatch("x" * 5000, CTX)).text.startswith("that command is too long")


async def test_a_crash_is_logged_with_its_traceback_and_the_user_sees_a_generic_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.commands.registry"):
        reply = await toy().dispatch("boom", CTX)
    assert reply.error
    assert "secret internals" not in reply.text
    assert reply.text.startswith("Sorry, that command failed unexpectedly")
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.exc_info is not None
    assert vars(failure)["action"] == "command_failed"
    [done] = [r for r in caplog.records if r.getMessage() == "command"]
    facts = vars(done)
    assert (facts["command"], facts["outcome"], facts["user"]) == (
        "boom",
        "crashed",
        "alice (console)",
    )


async def test_a_hung_command_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.commands.registry.COMMAND_TIMEOUT_S", 0.05)
    reply = await toy().dispatch("slow", CTX)
    assert reply.error
    assert reply.text.startswith("that took longer than")


async def test_help_flags_show_usage() -> None:
    reply = await toy().dispatch("echo --help", CTX)
    assert reply.text == "echo: say it back"
    assert reply.blocks[0] == Paragraph("/perf echo <words>", mono=True)


def test_registering_a_name_twice_fails() -> None:
    r = toy()
    with pytest.raises(ValueError, match="registered twice"):
        r.command("say", "say", "clash")(cast(Any, None))


def test_table_notes_what_it_leaves_out() -> None:
    cut = table(("a",), [("1",), ("2",), ("3",)], limit=2)
    assert cut == Table(columns=("a",), rows=(("1",), ("2",)), note="… and 1 more")
    with pytest.raises(ValueError, match="2 cells for 1 columns"):
        Table(columns=("a",), rows=(("1", "2"),))

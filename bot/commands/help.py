"""`/perf help` and `/perf help <command>`."""

from bot import errors
from bot.commands.args import parse
from bot.commands.context import CommandContext
from bot.commands.registry import PREFIX, Registry
from bot.commands.reply import Paragraph, Reply, table

ORDER = [
    *("help", "anomalies", "alerts", "alert", "ack", "unack", "escalate", "resolve"),
    *("silence", "silences", "unsilence", "bottlenecks", "trends", "merges", "baselines"),
    *("jobs", "status", "route test", "test", "oncall", "override", "overrides", "unoverride"),
]


def explain(registry: Registry, args: list[str]) -> Reply:
    """The list of the commands in `registry`, or the help of the one `args` name."""
    words = parse(args, max_positional=2).positional
    if words:
        name = " ".join(words).lower()
        command = registry.get(name) or registry.get(words[0])
        if command is None:
            registry.lookup(words)  # raises UnknownCommand with suggestions
            raise errors.UnknownCommand(f"unknown command {name!r}")
        return command.help_reply()
    listed = sorted(registry.commands, key=lambda c: ORDER.index(c.name) if c.name in ORDER else 99)
    rows = [(f"{PREFIX} {c.usage}", c.summary) for c in listed]
    return Reply.of(
        "perfbot commands",
        table(("command", "what it does"), rows),
        Paragraph(f"{PREFIX} help <command> explains one command and its options."),
    )


def register(registry: Registry) -> None:
    """Add help to `registry`; it lists and explains the commands of that same registry."""

    @registry.command(
        "help",
        "help [command]",
        "list the commands, or explain one",
        details="Every command also explains itself with --help, e.g. /perf silence --help.",
        aliases=("?",),
    )
    async def help_(ctx: CommandContext, args: list[str]) -> Reply:
        return explain(registry, args)

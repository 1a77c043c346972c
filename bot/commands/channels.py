"""`/perf test <channel>`: send a marked test card through a configured channel and say what
the platform answered. It reaches on-call destinations (PagerDuty among them), so it needs the
`escalate` permission, checked (and a refusal audited) before anything is looked up."""

from dataclasses import replace

from bot import errors
from bot.commands.args import parse
from bot.commands.context import CommandContext
from bot.commands.registry import PREFIX, Registry, command
from bot.commands.reply import Fields, Reply


@command(
    "test",
    "test <channel>",
    "send a marked test message through a channel and report the platform's answer",
    mutating=True,
    details=(
        "Proves tokens, scopes and channel ids before the first incident. PagerDuty gets an "
        "info-severity trigger resolved at once, so nobody is paged. Needs permissions.escalate."
    ),
)
async def test(ctx: CommandContext, args: list[str]) -> Reply:
    await ctx.alerts.require("escalate", ctx.user)
    if ctx.channels is None:
        raise errors.CommandError("this front end cannot send test messages")
    words = parse(args, max_positional=1).positional
    if not words:
        known = ", ".join(ctx.channels.names()) or "none"
        raise errors.BadArguments(f"which channel? e.g. {PREFIX} test <name> (channels: {known})")
    try:
        result = await ctx.channels.test(words[0], ctx.user.label)
    except errors.ConfigError as exc:  # the channel's platform settings are missing
        raise errors.CommandError("; ".join(exc.problems)) from exc
    facts = [("Channel", f"{result.channel} ({result.kind})"), ("Answer", result.answer)]
    if result.hint:
        facts.append(("Fix", result.hint))
    if result.delivered:
        return Reply.of(f"Test message delivered to {result.channel}", Fields(tuple(facts)))
    refused = Reply.of(f"{result.channel} refused the test message", Fields(tuple(facts)))
    return replace(refused, error=True)


def register(registry: Registry) -> None:
    """Add `test` to `registry`."""
    registry.add(test)

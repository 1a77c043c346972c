"""The outcome of sending a test card through one configured channel (`perfbot notify test`,
`/perf test`): whether the platform took it, what it answered, and what to do about a refusal."""

from bot.models.common import Frozen


class ChannelProbe(Frozen):
    """`answer` is what the platform said (`Slack accepted it: message … in channel C…`) or its
    error, quoted (`chat.postMessage: not_in_channel`); `hint` says how to fix a refusal."""

    channel: str
    kind: str
    delivered: bool
    answer: str
    hint: str | None = None

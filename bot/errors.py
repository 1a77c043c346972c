"""The one error tree of perfbot. Third-party errors are translated into these at the adapter
that meets them (store, notifiers, chat front ends) and chained with `from`.

`CommandError` and its subclasses carry text that is safe to show to a chat user; every other
error is logged with its traceback and the user sees a generic line."""


class BotError(Exception):
    """perfbot failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(BotError):
    """The configuration is invalid."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


class StoreError(BotError):
    """A database operation failed."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached."""


class QueryTimeout(StoreError):
    """A database query ran out of time (asyncpg's command timeout or the server's
    statement_timeout): the database answers, but too slowly. Not an outage."""


class MigrationError(StoreError):
    """A schema migration could not be applied."""


class IngestError(BotError):
    """Input data was rejected; nothing was stored."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{reason}")


class MalformedJson(IngestError):
    """The input is not JSON at all."""


class NotifyError(BotError):
    """A notification could not be delivered.

    `permanent` means retrying cannot help (a 4xx other than 429, a rejected recipient);
    `retry_after` is the delay in seconds a destination asked for (HTTP 429 `Retry-After`)."""

    def __init__(
        self,
        channel: str,
        reason: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        self.channel = channel
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        super().__init__(f"{channel}: {reason}")


class RenderError(BotError):
    """A notification could not be rendered for its channel (a renderer raised on the alert's
    data). Retrying cannot help and the destination is not at fault: the delivery is dead with
    `reason`, and the channel's circuit breaker is not told."""

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel}: cannot render the message: {reason}")


class CommandError(BotError):
    """The command could not be carried out."""


class BadArguments(CommandError):
    """The command's arguments are not valid."""


class UnknownCommand(CommandError):
    """There is no such command."""


class UnknownOperation(CommandError):
    """perfbot has never seen that operation type."""


class NotFound(CommandError):
    """Nothing with that id exists."""


class PermissionDenied(CommandError):
    """You are not allowed to do that."""


class InvalidTransition(CommandError):
    """The alert is not in a state that allows this action."""

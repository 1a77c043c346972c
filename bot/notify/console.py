"""The `console` channel: alerts printed to a terminal (the demo, `perfbot run` without chat
accounts). It writes to the injected `rich.console.Console`, so tests capture the output."""

from rich.console import Console

from bot.notify import MessageRef, Notification, console_render, rendering


class ConsoleNotifier:
    """Prints one panel per event (one line per update); keeps no message reference (nothing to
    edit later)."""

    def __init__(self, channel: str, console: Console | None = None) -> None:
        self._channel = channel
        self._console = console if console is not None else Console()

    @property
    def channel(self) -> str:
        return self._channel

    async def send(self, notification: Notification) -> MessageRef | None:
        # Rich lays the panel out while printing, so printing is part of rendering here.
        with rendering(self._channel):
            if notification.event == "updated":
                # A terminal cannot edit what it printed; a one-line update keeps the scroll
                # readable.
                self._console.print(console_render.update_line(notification))
            else:
                self._console.print(console_render.render(notification))
        return None

    async def aclose(self) -> None:
        return None

"""The `permissions:` section: who may act on alerts, by chat user id or user name; `*` allows
everyone. `to_permissions()` builds the routing core's `Permissions` value from it."""

from pydantic import Field

from bot.config.section import Section
from bot.routing.permission import Permissions


class PermissionSettings(Section):
    """Who may do what, by chat user id or user name; `*` allows everyone."""

    ack: list[str] = Field(default_factory=lambda: ["*"])
    escalate: list[str] = Field(default_factory=lambda: ["*"])
    silence: list[str] = Field(default_factory=lambda: ["*"])
    resolve: list[str] = Field(default_factory=lambda: ["*"])

    def to_permissions(self) -> Permissions:
        """The allow lists as the routing core's value."""
        return Permissions(
            ack=tuple(self.ack),
            escalate=tuple(self.escalate),
            silence=tuple(self.silence),
            resolve=tuple(self.resolve),
        )

"""Who may act on alerts. `Permissions` lists chat user ids (`U024BE7LH`) or user names
(`alice`, `@alice`) per action; `*` allows everyone; an empty list allows nobody. Ids compare
exactly, names case-insensitively. Unacknowledge uses the `ack` list, unsilence `silence`.
The `permissions:` YAML section that builds them is `bot.config.permissions`."""

from dataclasses import dataclass
from typing import Literal

Action = Literal["ack", "unack", "escalate", "silence", "unsilence", "resolve"]


@dataclass(frozen=True)
class Permissions:
    """The allow list of each action (user ids, user names or `*`)."""

    ack: tuple[str, ...]
    escalate: tuple[str, ...]
    silence: tuple[str, ...]
    resolve: tuple[str, ...]


def allowed_list(action: Action, permissions: Permissions) -> tuple[str, ...]:
    """The configured allow list that governs `action`."""
    if action in ("ack", "unack"):
        return permissions.ack
    if action in ("silence", "unsilence"):
        return permissions.silence
    if action == "escalate":
        return permissions.escalate
    return permissions.resolve


def permitted(
    action: Action, user_id: str | None, user_name: str | None, permissions: Permissions
) -> bool:
    """Whether the user (by id or name) may perform `action`."""
    name = user_name.strip().lstrip("@").casefold() if user_name else None
    for entry in allowed_list(action, permissions):
        entry = entry.strip()
        if entry == "*":
            return True
        if user_id is not None and entry == user_id:
            return True
        if name and entry.lstrip("@").casefold() == name:
            return True
    return False

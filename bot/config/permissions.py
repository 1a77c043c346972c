"""The `permissions:` section: who may act on alerts, by platform-qualified user id
(`slack:U024BE7LH`, `mattermost:<26-character id>`, `console`), `*` for everyone with an id, or
`group:<name>` for a group of `groups`. Names are never trusted: a bare name or id is a
configuration error with the form to write instead (`problems`). `to_permissions()` builds the
routing core's `Permissions` value, groups expanded; the defaults are the core's."""

from pydantic import Field

from bot.config.section import Section
from bot.routing import permission
from bot.routing.permission import Permissions

_LISTS = ("ack", "escalate", "silence", "silence_all", "resolve", "override")


class PermissionSettings(Section):
    """Who may do what. Out of the box anyone may acknowledge and escalate, nobody may silence
    or resolve or override an on-call schedule, and a silence that mutes CRITICAL alerts of every operation needs
    `silence_all` as well as `silence`."""

    ack: list[str] = Field(default_factory=lambda: sorted(Permissions.ack))
    escalate: list[str] = Field(default_factory=lambda: sorted(Permissions.escalate))
    silence: list[str] = Field(default_factory=lambda: sorted(Permissions.silence))
    resolve: list[str] = Field(default_factory=lambda: sorted(Permissions.resolve))
    silence_all: list[str] = Field(default_factory=lambda: sorted(Permissions.silence_all))
    override: list[str] = Field(default_factory=lambda: sorted(Permissions.override))
    groups: dict[str, list[str]] = Field(default_factory=dict)

    def problems(self) -> list[tuple[str, str]]:
        """Every unusable entry as (YAML path, reason with the form to write instead): bare
        names and ids, malformed ids, unknown groups, groups inside groups, bad group names."""
        found: list[tuple[str, str]] = []
        for name, members in self.groups.items():
            where = f"permissions.groups.{name}"
            if not permission.GROUP_NAME.fullmatch(name):
                found.append((where, "a group name is letters, digits, _ and - (at most 64)"))
            for i, member in enumerate(members):
                if member.strip().startswith(permission.GROUP):
                    found.append((f"{where}[{i}]", "a group cannot contain another group"))
                    continue
                problem = permission.entry_problem(member)
                if problem is not None:
                    found.append((f"{where}[{i}]", problem))
        for key in _LISTS:
            for i, entry in enumerate(getattr(self, key)):
                problem = permission.entry_problem(entry, self.groups)
                if problem is not None:
                    found.append((f"permissions.{key}[{i}]", problem))
        return found

    def to_permissions(self) -> Permissions:
        """The allow lists as the routing core's value, every `group:` replaced by its members."""
        return Permissions(
            **{key: permission.expand(getattr(self, key), self.groups) for key in _LISTS}
        )

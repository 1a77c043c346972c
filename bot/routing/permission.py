"""Who may act on alerts, by platform-qualified user id, never by a name.

An identity is `slack:<user id>` (`slack:U024BE7LH`), `mattermost:<26-character user id>`
(`mattermost:rd49ehbqyjytddasoownkuqrxe`) or `console` (the person at perfbot's own terminal).
A permission list holds identities, `*` (everyone who has an identity) and `group:<name>`
references to the named groups of `permissions.groups`. An identity is compared exactly; a
request without one is refused, even where the list says `*`.

Unacknowledge uses the `ack` list (your own acknowledgement may always be taken back),
unsilence `silence`. A silence that can mute CRITICAL alerts everywhere (see
`bot.routing.silence.is_broad`) needs `silence_all` as well. Putting someone on call over a
schedule (or removing such an override) needs `override`; nobody may by default. The `permissions:` YAML section that
builds `Permissions` (and checks every entry with `entry_problem`) is `bot.config.permissions`."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Action = Literal[
    "ack", "unack", "escalate", "silence", "silence_all", "unsilence", "resolve", "override"
]
Setting = Literal["ack", "escalate", "silence", "silence_all", "resolve", "override"]

EVERYONE = "*"
CONSOLE = "console"
GROUP = "group:"
SLACK_ID = re.compile(r"[UW][A-Z0-9]+")
MATTERMOST_ID = re.compile(r"[a-z0-9]{26}")
GROUP_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PLATFORM_IDS = {"slack": SLACK_ID, "mattermost": MATTERMOST_ID}
_NAME_NOISE = re.compile(r"[\x00-\x1f\x7f-\x9f()\u2028\u2029]+")
MAX_NAME = 64
HOW_TO = "see README: Security → Who may act"


@dataclass(frozen=True)
class Permissions:
    """The allow list of each action: identities and `*`, groups already expanded. The defaults
    are the safe ones: anyone may acknowledge and escalate, nobody may silence or resolve."""

    ack: frozenset[str] = frozenset({EVERYONE})
    escalate: frozenset[str] = frozenset({EVERYONE})
    silence: frozenset[str] = frozenset()
    resolve: frozenset[str] = frozenset()
    silence_all: frozenset[str] = frozenset()
    override: frozenset[str] = frozenset()


def setting(action: Action) -> Setting:
    """The `permissions.<setting>` list that governs `action`."""
    if action == "unack":
        return "ack"
    if action == "unsilence":
        return "silence"
    return action


def identity(platform: str, user_id: str | None) -> str | None:
    """The qualified identity of a chat user (`slack:U024BE7LH`), or None when `user_id` is
    missing or not of that platform's form; `console` for the local terminal."""
    if platform == CONSOLE:
        return CONSOLE
    pattern = _PLATFORM_IDS.get(platform)
    if pattern is None or not user_id or not pattern.fullmatch(user_id):
        return None
    return f"{platform}:{user_id}"


def display_name(name: str | None) -> str | None:
    """A user-supplied display name made safe to put beside an identity: no control characters
    or parentheses, whitespace collapsed, at most 64 characters; None when nothing is left."""
    if not name:
        return None
    cleaned = " ".join(_NAME_NOISE.sub(" ", name).split())[:MAX_NAME]
    return cleaned or None


def label(ident: str | None, name: str | None) -> str:
    """`alice (slack:U024BE7LH)`: the display name for humans, the identity in parentheses at
    the end (the name cannot contain parentheses, so `owner` reads the identity back)."""
    shown = display_name(name)
    if ident is None:
        return shown or "unknown"
    if shown is None or shown == ident:
        return ident
    return f"{shown} ({ident})"


def owner(text: str | None) -> str | None:
    """The identity in a `label` (`alice (slack:U1)` → `slack:U1`, `console` → `console`), or
    None for a label without one (e.g. a name stored before identities were recorded)."""
    if not text:
        return None
    _, sep, tail = text.rpartition(" (")
    candidate = tail.removesuffix(")") if sep and tail.endswith(")") else text
    return candidate if _is_identity(candidate) else None


def _is_identity(text: str) -> bool:
    if text == CONSOLE:
        return True
    platform, sep, user_id = text.partition(":")
    pattern = _PLATFORM_IDS.get(platform)
    return bool(sep) and pattern is not None and pattern.fullmatch(user_id) is not None


def entry_problem(entry: str, groups: Iterable[str] = ()) -> str | None:
    """Why `entry` cannot stand in a permission list (with the qualified form to write instead),
    or None if it can. `groups` are the names of the defined groups."""
    text = entry.strip()
    if text in (EVERYONE, CONSOLE) or _is_identity(text):
        return None
    if text.startswith(GROUP):
        name = text.removeprefix(GROUP)
        if name in groups:
            return None
        known = ", ".join(sorted(groups)) or "none are defined"
        return f"unknown group {name!r} (permissions.groups: {known})"
    platform, sep, user_id = text.partition(":")
    if sep and platform in _PLATFORM_IDS:
        return _bad_id(platform, user_id)
    if sep:
        return (
            f"{text!r}: unknown platform {platform!r}; write slack:<user id>, "
            f"mattermost:<user id>, console, group:<name> or *"
        )
    bare = text.lstrip("@")
    if SLACK_ID.fullmatch(bare):
        return f"{text!r} is a bare user id; write slack:{bare}"
    if MATTERMOST_ID.fullmatch(bare):
        return f"{text!r} is a bare user id; write mattermost:{bare}"
    return (
        f"{text!r} looks like a user name; names are not trusted, write the user's id: "
        f"slack:U… or mattermost:<26-character id> ({HOW_TO})"
    )


def _bad_id(platform: str, user_id: str) -> str:
    if platform == "slack":
        if SLACK_ID.fullmatch(user_id.upper()):
            return f"Slack user ids are upper case; write slack:{user_id.upper()}"
        return (
            f"{user_id!r} is not a Slack user id (U… or W…, letters and digits): "
            f"in Slack, a profile's ⋮ → Copy member ID gives it"
        )
    if MATTERMOST_ID.fullmatch(user_id.lower()):
        return f"Mattermost user ids are lower case; write mattermost:{user_id.lower()}"
    return (
        f"{user_id!r} is not a Mattermost user id (26 lower-case letters and digits): "
        f"`mmctl user search <name>` or System Console → Users gives it"
    )


def expand(entries: Iterable[str], groups: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """The entries with every `group:<name>` replaced by its members (entries are assumed to
    have passed `entry_problem`; an unknown group adds nobody)."""
    result: set[str] = set()
    for entry in entries:
        text = entry.strip()
        if text.startswith(GROUP):
            result.update(m.strip() for m in groups.get(text.removeprefix(GROUP), ()))
        else:
            result.add(text)
    return frozenset(result)


def permitted(action: Action, ident: str | None, permissions: Permissions) -> bool:
    """Whether the user with identity `ident` may perform `action`; never without an identity."""
    if ident is None:
        return False
    allowed: frozenset[str] = getattr(permissions, setting(action))
    return EVERYONE in allowed or ident in allowed

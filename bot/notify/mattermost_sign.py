"""Signed contexts for Mattermost buttons. Mattermost keeps an action's `integration.context`
server-side and POSTs it back on a click, but anyone who can reach `/mattermost/actions` could
POST a forged or an old one; so the context is signed and short-lived.

A context is `{"action", "alert_id", "version", "state", "exp", "post" | "channel", "sig"}`:

* `version` and `state`: the alert's version and `Alert.shown_state` when the buttons were drawn.
  A click on a button drawn for another state of the alert (acknowledged since, escalated,
  silenced, resolved, …) is refused as stale; counters that move every detection cycle (the
  version moves with them) do not make a button stale, since its message is not re-drawn then.
* `exp`: unix seconds after which the button is refused (`mattermost.actions_ttl`, 7 days by
  default); messages re-drawn on alert updates get fresh contexts.
* `post` or `channel`: what the button is bound to. An alert post that exists is edited with
  contexts bound to its post id; a new post (whose id Mattermost gives only once it exists) and
  a command reply are bound to their channel id. The click's `post_id`/`channel_id` must match.
* `sig`: HMAC-SHA256 (hex) over all of the above, canonically JSON-encoded, keyed with
  `mattermost.actions_secret` (default: the bot token). An empty key never signs nor verifies.

The notifier signs, the Mattermost front end checks with `check_click` before acting."""

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.config import MattermostSettings

ACTIONS = ("ack", "unack", "escalate", "resolve", "silence1h")
"""The button ids; Mattermost requires them alphanumeric (an `_` makes clicks 404)."""

TYPED = {
    "ack": "ack {id}",
    "unack": "unack {id}",
    "escalate": "escalate {id}",
    "resolve": "resolve {id}",
    "silence1h": "silence alert={id} 1h",
}
"""What to type instead of each button."""

BindKind = Literal["post", "channel"]
_ID_MAX = 64  # Mattermost ids are 26 characters; anything much longer is not one
_STATE_MAX = 128


def actions_secret(settings: MattermostSettings) -> str | None:
    """The key for signing: `actions_secret`, else the bot token; None when neither is set to
    something non-empty (then there are no buttons)."""
    for candidate in (settings.actions_secret, settings.token):
        if candidate is not None and candidate.get_secret_value().strip():
            return candidate.get_secret_value()
    return None


@dataclass(frozen=True)
class Binding:
    """What a button is bound to: its post (`kind="post"`) or its channel."""

    kind: BindKind
    value: str


@dataclass(frozen=True)
class Click:
    """A verified click: which action on which alert, drawn for which version and state."""

    action: str
    alert_id: int
    version: int
    state: str


class Refused(Exception):
    """A click perfbot will not act on; `reply` is what the clicker is told, `reason` is logged."""

    def __init__(self, reason: str, reply: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply


NOT_VERIFIED = "perfbot could not verify this button, so nothing was changed."


def _message(
    action: str, alert_id: int, version: int, state: str, exp: int, binding: Binding
) -> bytes:
    fields = ["perfbot-mm-v2", action, alert_id, version, state, exp, binding.kind, binding.value]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()


def sign_action(
    secret: str, action: str, alert_id: int, version: int, state: str, exp: int, binding: Binding
) -> str:
    """The hex HMAC-SHA256 of the context's fields keyed with `secret`; raises ValueError for
    an empty key (nothing may be signed with one)."""
    if not secret.strip():
        raise ValueError("refusing to sign a Mattermost button with an empty key")
    message = _message(action, alert_id, version, state, exp, binding)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def action_context(
    secret: str,
    action: str,
    alert_id: int,
    *,
    version: int,
    state: str,
    exp: int,
    binding: Binding,
) -> dict[str, Any]:
    """The `integration.context` of one button."""
    return {
        "action": action,
        "alert_id": alert_id,
        "version": version,
        "state": state,
        "exp": exp,
        binding.kind: binding.value,
        "sig": sign_action(secret, action, alert_id, version, state, exp, binding),
    }


@dataclass(frozen=True)
class Signer:
    """Signs button contexts with `secret` (never empty) that expire `ttl_s` after signing."""

    secret: str
    ttl_s: int

    def __post_init__(self) -> None:
        if not self.secret.strip():
            raise ValueError("refusing to sign Mattermost buttons with an empty key")

    def context(
        self, action: str, alert_id: int, version: int, state: str, binding: Binding, now: float
    ) -> dict[str, Any]:
        """The signed context of one button drawn at unix time `now`."""
        exp = int(now) + self.ttl_s
        return action_context(
            self.secret, action, alert_id, version=version, state=state, exp=exp, binding=binding
        )


def signer(settings: MattermostSettings) -> Signer | None:
    """The configured signer; None without a non-empty key (then there are no buttons)."""
    secret = actions_secret(settings)
    if secret is None:
        return None
    return Signer(secret, int(settings.actions_ttl.total_seconds()))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _short_str(value: Any, limit: int) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _binding(context: Mapping[str, Any]) -> Binding | None:
    post, channel = context.get("post"), context.get("channel")
    if (post is None) == (channel is None):
        return None
    kind: BindKind = "post" if post is not None else "channel"
    value = _short_str(post if post is not None else channel, _ID_MAX)
    return Binding(kind, value) if value is not None else None


def check_click(
    secret: str | None, context: Any, post_id: Any, channel_id: Any, now: float
) -> Click:
    """The verified click in a `PostActionIntegrationRequest` (its `context`, `post_id` and
    `channel_id`) at unix time `now`; raises Refused when the context is malformed, not signed
    by perfbot with a non-empty key, expired, or bound to another post or channel. Staleness
    against the alert's current state is the caller's (`stale`)."""
    if not secret or not secret.strip():
        raise Refused("no signing key", NOT_VERIFIED)
    if not isinstance(context, Mapping):
        raise Refused("context missing", NOT_VERIFIED)
    action, sig = context.get("action"), context.get("sig")
    alert_id, version, exp = (_int(context.get(k)) for k in ("alert_id", "version", "exp"))
    state = _short_str(context.get("state"), _STATE_MAX)
    binding = _binding(context)
    if (
        action not in ACTIONS
        or not isinstance(sig, str)
        or not sig.isascii()
        or alert_id is None
        or version is None
        or exp is None
        or state is None
        or binding is None
    ):
        raise Refused("context malformed or from an older perfbot", NOT_VERIFIED)
    expected = sign_action(secret, str(action), alert_id, version, state, exp, binding)
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        raise Refused("signature does not match", NOT_VERIFIED)
    if now > exp:
        raise Refused(
            "context expired",
            "This button has expired; nothing was changed. Use "
            f"`/perf {TYPED[str(action)].format(id=alert_id)}` instead.",
        )
    clicked = post_id if binding.kind == "post" else channel_id
    if not isinstance(clicked, str) or not hmac.compare_digest(
        clicked.encode(), binding.value.encode()
    ):
        raise Refused(f"context bound to another {binding.kind}", NOT_VERIFIED)
    return Click(str(action), alert_id, version, state)


def stale(click: Click, version: int, state: str) -> bool:
    """Whether the alert changed, since the button was drawn, in a way its message shows."""
    return click.version != version and click.state != state

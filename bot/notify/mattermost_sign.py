"""Signed contexts for Mattermost buttons. Mattermost keeps an action's `integration.context`
server-side and POSTs it back on a click, but anyone who can reach `/mattermost/actions` could
POST a forged one; so the context carries `sig`, an HMAC-SHA256 (hex) over `"{action}:{alert_id}"`
keyed with `mattermost.actions_secret` (default: the bot token). The notifier signs, the
Mattermost front end verifies with `verify_context` before acting on a click."""

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from bot.config import MattermostSettings

ACTIONS = ("ack", "unack", "escalate", "silence1h")
"""The button ids; Mattermost requires them alphanumeric (an `_` makes clicks 404)."""


def actions_secret(settings: MattermostSettings) -> str | None:
    """The key for signing: `actions_secret`, else the bot token, else None."""
    secret = settings.actions_secret or settings.token
    return secret.get_secret_value() if secret is not None else None


def sign_action(secret: str, action: str, alert_id: int | str) -> str:
    """The hex HMAC-SHA256 of `"{action}:{alert_id}"` keyed with `secret`."""
    message = f"{action}:{alert_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def action_context(secret: str, action: str, alert_id: int) -> dict[str, Any]:
    """The `integration.context` of one button: `{"action", "alert_id", "sig"}`."""
    return {"action": action, "alert_id": alert_id, "sig": sign_action(secret, action, alert_id)}


def verify_action(secret: str, action: str, alert_id: int | str, sig: str) -> bool:
    """Whether `sig` is the signature of this action on this alert (constant-time compare)."""
    return hmac.compare_digest(sign_action(secret, action, alert_id).encode(), sig.encode())


def verify_context(secret: str, context: Mapping[str, Any]) -> tuple[str, int] | None:
    """`(action, alert_id)` from a click's context when it is well-formed, names a known action
    and carries a valid signature; None otherwise (refuse the click)."""
    action, alert_id, sig = context.get("action"), context.get("alert_id"), context.get("sig")
    if action not in ACTIONS or not isinstance(sig, str):
        return None
    if isinstance(alert_id, bool):
        return None
    if isinstance(alert_id, str) and alert_id.isascii() and alert_id.isdigit():
        alert_id = int(alert_id)
    if not isinstance(alert_id, int):
        return None
    if not verify_action(secret, str(action), alert_id, sig):
        return None
    return str(action), alert_id

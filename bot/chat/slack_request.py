"""The first look at a raw `POST /slack/events`, before Bolt parses anything: the v0 signature
over the raw bytes and a fresh timestamp (absent, malformed, stale or forged: 401), then a UTF-8
body (400). Bolt checks the signature again, but it decodes the body and parses the timestamp
before it does, and fails with a 500 on input it cannot read; here nothing of an
unauthenticated request is parsed.

Slack's `ssl_check` requests, which are not signed, are passed through: Bolt answers them 200
and runs nothing."""

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

MAX_AGE_S = 300  # Slack's rule: refuse requests signed more than five minutes ago (or ahead)
INVALID = "invalid request"  # Bolt's answer to a bad signature, kept for clients that match it


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: `status` and `error` are answered, `reason` is logged."""

    status: int
    error: str
    reason: str


def _is_ssl_check(body: bytes) -> bool:
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True)
    except UnicodeDecodeError:
        return False
    return fields.get("ssl_check") == ["1"] and "payload" not in fields


def signature_problem(
    secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None
) -> str | None:
    """What is wrong with the request's signature, or None if Slack signed it just now."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        return "signature or timestamp missing"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "timestamp is not a number"
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_S:
        return "timestamp too old or ahead"
    if not signature.isascii():
        return "signature is not v0 hex"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return "signature does not match"
    return None


def check(
    secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None
) -> Refusal | None:
    """A refusal for a request Bolt must not see, or None to hand it on."""
    if _is_ssl_check(body):
        return None
    problem = signature_problem(secret, body, headers, now)
    if problem is not None:
        return Refusal(401, INVALID, problem)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "request body is not UTF-8", "body not UTF-8")
    return None


def shape_problem(body: Any) -> str | None:
    """What makes a signed request's parsed body unusable for Bolt's matchers, or None. (Slack
    never sends these; a client holding the signing secret might.)"""
    if not isinstance(body, dict):
        return "the body is not an object"
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without a list of actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "an action without an action_id"
    for key in ("user", "team", "channel", "enterprise", "container"):
        if key in body and body[key] is not None and not isinstance(body[key], dict | str):
            return f"{key} is neither an object nor a string"
    return None


EVENTS = ("event_callback", "url_verification", "app_rate_limited")
"""Events API bodies: Slack retries these itself (`X-Slack-Retry-Num`, signed anew) and perfbot
subscribes to none; they are not replay-gated. Slash commands and interactions are (Slack
never retries those, so a second copy is a replay)."""


def replay_kind(body: dict[str, Any]) -> str | None:
    """`"command"` or the interaction type of a parsed body that must run once; None for the
    Events API."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    return kind[:40] if isinstance(kind, str) and kind not in EVENTS else None


def user_id(body: dict[str, Any]) -> str:
    """The sender's id in a command or interaction body, for the log ("" if absent)."""
    user = body.get("user")
    found = user.get("id") if isinstance(user, dict) else body.get("user_id")
    return str(found)[:64] if found else ""

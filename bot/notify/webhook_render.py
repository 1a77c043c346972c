"""The webhook contract (ARCHITECTURE.md): a JSON body `{"event", "alert": {...}}` and the
headers `X-Perfbot-Event`, `X-Perfbot-Delivery` (the outbox delivery id, when the worker passes
one in `Notification.extra["delivery_id"]`) and `X-Perfbot-Signature: sha256=<hex>`, an
HMAC-SHA256 of the exact body bytes keyed with the channel's secret (absent without a secret).

The contract names five events; `repeat` is sent as `updated` and `unacknowledged` as
`updated` too (the alert's `status` says `open` again)."""

import hashlib
import hmac
import json
from typing import Any

from bot.notify import Notification

CONTRACT_EVENTS = {"repeat": "updated", "unacknowledged": "updated"}


def event_name(notification: Notification) -> str:
    return CONTRACT_EVENTS.get(notification.event, notification.event)


def body(notification: Notification) -> bytes:
    """The JSON body as sent (UTF-8, compact, keys in a fixed order)."""
    alert = notification.alert
    payload: dict[str, Any] = {
        "event": event_name(notification),
        "alert": {
            "id": alert.id,
            "fingerprint": alert.fingerprint,
            "kind": alert.kind.value,
            "severity": alert.severity.value,
            "status": alert.status.value,
            "operation_type": alert.operation_types[0] if alert.operation_types else None,
            "operation_types": list(alert.operation_types),
            "bottleneck": alert.bottleneck.value if alert.bottleneck is not None else None,
            "title": alert.title,
            "summary": alert.summary,
            "details": alert.details,
            "first_seen": alert.first_seen.isoformat(),
            "last_seen": alert.last_seen.isoformat(),
            "occurrences": alert.occurrences,
            "acknowledged_by": alert.acknowledged_by,
            "escalation_step": alert.escalation_step,
        },
    }
    if notification.children:
        payload["alert"]["children"] = [c.id for c in notification.children]
    if notification.mention:
        payload["mention"] = list(notification.mention)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def signature(secret: str, raw_body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of raw_body keyed with secret>`."""
    return "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify(secret: str, raw_body: bytes, header: str) -> bool:
    """Whether an `X-Perfbot-Signature` header matches the body (constant-time)."""
    return hmac.compare_digest(signature(secret, raw_body), header)


def headers(notification: Notification, raw_body: bytes, secret: str | None) -> dict[str, str]:
    out = {
        "Content-Type": "application/json",
        "User-Agent": "perfbot",
        "X-Perfbot-Event": event_name(notification),
    }
    delivery = notification.extra.get("delivery_id")
    if delivery is not None:
        out["X-Perfbot-Delivery"] = str(delivery)
    if secret:
        out["X-Perfbot-Signature"] = signature(secret, raw_body)
    return out

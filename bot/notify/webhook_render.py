"""The webhook contract (ARCHITECTURE.md): a JSON body `{"event", "delivery_id", "alert": {...}}`
and the headers `X-Perfbot-Event`, `X-Perfbot-Delivery` (the delivery id again: the outbox row
id, the same on every retry of one delivery, so receivers de-duplicate by it) and, with a
secret, `X-Perfbot-Signature: t=<unix seconds>,v1=<hex>`: an HMAC-SHA256, keyed with the
channel's secret, of `"<t>.<delivery id>."` followed by the exact body bytes. The timestamp lets
a receiver refuse a replayed request (the README's verify recipe allows 5 minutes), the
delivery id a repeated one.

The contract names five events; `repeat` is sent as `updated` and `unacknowledged` as
`updated` too (the alert's `status` says `open` again). `perfbot notify test` sends a sixth,
`test`, about a made-up alert (id 0, fingerprint `perfbot-test:…`) that receivers should ignore."""

import hashlib
import hmac
import json
from typing import Any

from bot.cards import evidence
from bot.notify import Notification

CONTRACT_EVENTS = {"repeat": "updated", "unacknowledged": "updated"}
SIGNATURE_HEADER = "X-Perfbot-Signature"
DELIVERY_HEADER = "X-Perfbot-Delivery"


def event_name(notification: Notification) -> str:
    return CONTRACT_EVENTS.get(notification.event, notification.event)


def body(notification: Notification, delivery_id: str) -> bytes:
    """The JSON body as sent (UTF-8, compact, keys in a fixed order)."""
    alert = notification.alert
    payload: dict[str, Any] = {
        "event": event_name(notification),
        "delivery_id": delivery_id,
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
            "evidence": [{"label": k, "value": v} for k, v in evidence(alert)],
        },
    }
    if notification.children:
        payload["alert"]["children"] = [c.id for c in notification.children]
    if notification.mention:
        payload["mention"] = list(notification.mention)
    if notification.links:
        payload["links"] = [{"label": link.label, "url": link.url} for link in notification.links]
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def signature(secret: str, timestamp: int, delivery_id: str, raw_body: bytes) -> str:
    """The `X-Perfbot-Signature` value: `t=<timestamp>,v1=<hex HMAC-SHA256 keyed with secret
    of "<timestamp>.<delivery_id>." + raw_body>`; `timestamp` in Unix seconds."""
    signed = f"{timestamp}.{delivery_id}.".encode() + raw_body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def headers(
    notification: Notification,
    raw_body: bytes,
    delivery_id: str,
    secret: str | None,
    timestamp: int,
) -> dict[str, str]:
    """The request headers; signed (at `timestamp`, Unix seconds) when there is a secret."""
    out = {
        "Content-Type": "application/json",
        "User-Agent": "perfbot",
        "X-Perfbot-Event": event_name(notification),
        DELIVERY_HEADER: delivery_id,
    }
    if secret:
        out[SIGNATURE_HEADER] = signature(secret, timestamp, delivery_id, raw_body)
    return out

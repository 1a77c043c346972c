"""The outbox: one message to one channel about one alert event, and its delivery status."""

from enum import StrEnum

from pydantic import AwareDatetime

from bot.models.common import Frozen, Severity


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class Delivery(Frozen):
    """One message to one channel about one alert event; a row of the outbox."""

    id: int
    alert_id: int
    channel: str
    event: str  # fired | updated | acknowledged | unacknowledged | escalated | resolved | repeat
    severity: Severity
    status: DeliveryStatus
    attempts: int
    max_attempts: int
    next_attempt_at: AwareDatetime
    is_fallback: bool = False
    mention: tuple[str, ...] = ()
    last_error: str | None = None
    last_status: int | None = None
    created_at: AwareDatetime
    sent_at: AwareDatetime | None = None

"""Silences: what one mutes, who set it and why, and when it is active."""

from datetime import datetime

from pydantic import AwareDatetime

from bot.models.common import ActorSource, Frozen, Severity
from bot.models.findings import BottleneckType


class SilenceMatch(Frozen):
    """What a silence mutes. Every given field must match; `operation` is a glob; `labels`
    (`label.team=db`) must each equal the alert's label of that name."""

    operation: str | None = None
    kind: str | None = None
    severity: Severity | None = None
    bottleneck: BottleneckType | None = None
    alert_id: int | None = None
    labels: dict[str, str] | None = None  # every label given must equal (external alerts)


class NewSilence(Frozen):
    """A silence decided on but not stored yet."""

    match: SilenceMatch
    reason: str | None = None
    created_by: str
    source: ActorSource
    created_at: AwareDatetime
    expires_at: AwareDatetime


class Silence(NewSilence):
    id: int
    ended_at: AwareDatetime | None = None

    def active_at(self, now: datetime) -> bool:
        return self.ended_at is None and self.created_at <= now < self.expires_at

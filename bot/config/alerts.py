"""The `alerts:` section: the alert lifecycle. Its defaults come from the routing core's
`LifecyclePolicy`, so they are written once, and `bot.config.build.lifecycle_policy` builds that
policy from the section by field name (`bot.config.params.params`)."""

from pydantic import Field

from bot.config.section import Section
from bot.durations import Duration
from bot.models import Severity
from bot.routing.lifecycle import LifecyclePolicy


class AlertSettings(Section):
    """Alert lifecycle: auto-resolve after `resolve_after` without a new detection; `recurrence`
    alerts for one operation within `recurrence_window` make it CRITICAL; `repeat_every`
    re-notifies an unacknowledged open alert (null: never)."""

    resolve_after: Duration = LifecyclePolicy.resolve_after
    recurrence: int = Field(default=LifecyclePolicy.recurrence, ge=2)
    recurrence_window: Duration = LifecyclePolicy.recurrence_window
    repeat_every: Duration | None = None
    min_severity: Severity = LifecyclePolicy.min_severity

"""`alertmanager:` — how `POST /api/v1/alertmanager` turns Alertmanager's alerts into perfbot
alerts of kind `external`: which label holds the severity, how its values map to perfbot's
severities, and the severity for a missing or unknown value. (The endpoint itself is served
with the ingest API, behind the same bearer tokens: see `http:`.)"""

from pydantic import Field, field_validator

from bot.config.section import Section
from bot.models import Severity

DEFAULT_SEVERITIES: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "error": Severity.CRITICAL,
    "high": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "medium": Severity.WARNING,
    "info": Severity.INFO,
    "low": Severity.INFO,
    "none": Severity.INFO,
}


class AlertmanagerSettings(Section):
    severity_label: str = Field(default="severity", min_length=1, max_length=128)
    # Label value (case-insensitive) → perfbot severity; replaces the defaults when given.
    severities: dict[str, Severity] = Field(default_factory=lambda: dict(DEFAULT_SEVERITIES))
    default_severity: Severity = Severity.WARNING  # missing label or a value not in `severities`

    @field_validator("severities", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, dict):
            return {
                str(k).strip().lower(): Severity.parse(v) if isinstance(v, str) else v
                for k, v in value.items()
            }
        return value

    @field_validator("default_severity", mode="before")
    @classmethod
    def _parse_default(cls, value: object) -> object:
        return Severity.parse(value) if isinstance(value, str) else value

    def severity(self, labels: dict[str, str]) -> Severity:
        """The perfbot severity of an alert with `labels`."""
        value = labels.get(self.severity_label)
        if value is None:
            return self.default_severity
        return self.severities.get(value.strip().lower(), self.default_severity)

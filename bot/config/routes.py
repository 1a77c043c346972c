"""The `routes:` section: the YAML schema of routing rules, and its translation into the
routing core's plain values (`Route.to_rule()` → `bot.routing.rules.Rule`).

The schema accepts the shorthands people write (`severity: CRITICAL` for `[CRITICAL]`, `crit`,
any case of a kind), rejects unknown kinds and escalation steps out of order, and spells
`continue_` as `continue`. Channel names are checked against the channels in
`bot.config.checks`."""

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bot.models import BottleneckType, EscalationStep, Severity
from bot.routing.rules import KINDS, Match, Rule


def _listify(value: object) -> object:
    """Let `severity: CRITICAL` stand for `severity: [CRITICAL]`."""
    if isinstance(value, str):
        return [value]
    return value


def _severities(value: object) -> object:
    value = _listify(value)
    if isinstance(value, list):
        return [Severity.parse(v) if isinstance(v, str) else v for v in value]
    return value


def _kinds(value: object) -> object:
    value = _listify(value)
    if isinstance(value, list):
        result = []
        for v in value:
            if isinstance(v, str) and v.strip().lower() not in KINDS:
                raise ValueError(f"unknown kind {v!r}; expected one of {', '.join(KINDS)}")
            result.append(v.strip().lower() if isinstance(v, str) else v)
        return result
    return value


class RouteMatch(BaseModel):
    """Every given matcher must match; an empty match matches everything. `operation` holds
    shell-style globs (`merge*`, `get_?istory`); `labels` must each equal an external alert's
    label (Alertmanager's labels; perfbot's own alerts have none)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Annotated[list[Severity], BeforeValidator(_severities)] = Field(default_factory=list)
    kind: Annotated[list[str], BeforeValidator(_kinds)] = Field(default_factory=list)
    operation: Annotated[list[str], BeforeValidator(_listify)] = Field(default_factory=list)
    bottleneck: Annotated[list[BottleneckType], BeforeValidator(_listify)] = Field(
        default_factory=list
    )
    # Labels of external alerts (Alertmanager's), each equal: `labels: {team: db}`.
    labels: dict[str, str] = Field(default_factory=dict)

    def to_match(self) -> Match:
        """The routing core's value."""
        return Match(
            severity=tuple(self.severity),
            kind=tuple(self.kind),
            operation=tuple(self.operation),
            bottleneck=tuple(self.bottleneck),
            labels=tuple(sorted(self.labels.items())),
        )


class Route(BaseModel):
    """One entry of `routes:` (see `bot.routing.rules` for what each key does)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    match: RouteMatch = Field(default_factory=RouteMatch)
    notify: list[str] = Field(default_factory=list)
    escalation: list[EscalationStep] = Field(default_factory=list)
    continue_: bool = Field(default=False, alias="continue")

    @model_validator(mode="after")
    def _steps_in_order(self) -> "Route":
        # `after` is measured from the first page, so steps must not go back in time.
        afters = [step.after for step in self.escalation]
        if any(a < timedelta(0) for a in afters):
            raise ValueError("escalation `after` must not be negative")
        if afters != sorted(afters):
            raise ValueError("escalation steps must be in order of `after` (time since firing)")
        return self

    def to_rule(self) -> Rule:
        """The routing core's value."""
        return Rule(
            name=self.name,
            match=self.match.to_match(),
            notify=tuple(self.notify),
            escalation=tuple(self.escalation),
            continue_=self.continue_,
        )

"""Routes as written in the YAML `routes:` list: ordered matchers with a notify list and an
escalation plan. The first matching route wins unless it says `continue: true`."""

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bot.models import BottleneckType, EscalationStep, Severity


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


KINDS = ("anomaly", "statistical", "threshold", "combined", "degradation", "bottleneck", "merge")


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
    shell-style globs (`merge*`, `get_?istory`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Annotated[list[Severity], BeforeValidator(_severities)] = Field(default_factory=list)
    kind: Annotated[list[str], BeforeValidator(_kinds)] = Field(default_factory=list)
    operation: Annotated[list[str], BeforeValidator(_listify)] = Field(default_factory=list)
    bottleneck: Annotated[list[BottleneckType], BeforeValidator(_listify)] = Field(
        default_factory=list
    )


class Route(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    match: RouteMatch = Field(default_factory=RouteMatch)
    notify: list[str] = Field(default_factory=list)
    escalation: list[EscalationStep] = Field(default_factory=list)
    continue_: bool = Field(default=False, alias="continue")

"""Route resolution: which rules match an alert, which channels it goes to, and the escalation
plan frozen into it when it fires.

Rules are tried in order; the first match wins unless it says `continue_`, in which case later
matches add their channels and the first matching rule with an escalation supplies it. When
nothing matches, the seed-compatible default in `bot.routing.fallback` applies. Every decision
carries an explanation, one line per rule tried, for `perfbot route test`.

`Rule` and `Match` are plain values; the YAML `routes:` schema that builds them (shorthands,
validation) is `bot.config.routes`."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from bot import errors
from bot.durations import format_duration
from bot.models import AlertKind, BottleneckType, EscalationPlan, EscalationStep, Severity
from bot.routing import fallback

KINDS = (
    "anomaly",
    "statistical",
    "threshold",
    "combined",
    "degradation",
    "traffic_drop",
    "source_silent",
    "bottleneck",
    "merge",
    "external",
)


def kind_matches(kind: AlertKind, wanted: str) -> bool:
    """`anomaly` stands for the statistical/threshold/combined family; other names are exact."""
    return wanted in (kind.value, kind.family)


def operations_match(operations: Iterable[str], globs: Iterable[str]) -> bool:
    """True when any operation matches any shell-style glob (case-sensitive)."""
    patterns = list(globs)
    return any(fnmatchcase(op, g) for op in operations for g in patterns)


def labels_match(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """True when every wanted label is present with exactly that value (Alertmanager's `=`)."""
    return all(labels.get(name) == value for name, value in wanted.items())


class Routable(Protocol):
    """What routing and silences look at; alerts, candidates and route queries all have it."""

    @property
    def severity(self) -> Severity: ...
    @property
    def kind(self) -> AlertKind: ...
    @property
    def operation_types(self) -> tuple[str, ...]: ...
    @property
    def bottleneck(self) -> BottleneckType | None: ...
    @property
    def labels(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class Match:
    """Every given matcher must match; an empty match matches everything. `kind` holds `KINDS`
    names (`anomaly` stands for a family, see `kind_matches`); `operation` holds shell-style
    globs (`merge*`, `get_?istory`); `labels` are (name, value) pairs that must all be equal
    to the alert's labels (external alerts, e.g. from Alertmanager)."""

    severity: tuple[Severity, ...] = ()
    kind: tuple[str, ...] = ()
    operation: tuple[str, ...] = ()
    bottleneck: tuple[BottleneckType, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()

    def check(self, subject: Routable) -> tuple[bool, list[str]]:
        """Whether `subject` matches, and one reason per matcher present (why it did or not)."""
        results: list[tuple[bool, str]] = []
        if self.severity:
            ok = subject.severity in self.severity
            results.append((ok, f"severity {subject.severity} {_in(ok)} {_list(self.severity)}"))
        if self.kind:
            ok = any(kind_matches(subject.kind, k) for k in self.kind)
            results.append((ok, f"kind {subject.kind} {_in(ok)} {_list(self.kind)}"))
        if self.operation:
            ops = ", ".join(subject.operation_types) or "(no operation)"
            ok = operations_match(subject.operation_types, self.operation)
            results.append((ok, f"operation {ops} {_in(ok)} {_list(self.operation)}"))
        if self.bottleneck:
            ok = subject.bottleneck in self.bottleneck
            results.append(
                (ok, f"bottleneck {subject.bottleneck} {_in(ok)} {_list(self.bottleneck)}")
            )
        if self.labels:
            wanted = dict(self.labels)
            ok = labels_match(subject.labels, wanted)
            shown = ", ".join(f"{k}={v}" for k, v in self.labels)
            results.append((ok, f"labels {_in(ok)} [{shown}]"))
        if not results:
            return True, ["no matchers (matches everything)"]
        return all(ok for ok, _ in results), [reason for _, reason in results]


def _in(ok: bool) -> str:
    return "matches" if ok else "does not match"


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(values) + "]"


@dataclass(frozen=True)
class Rule:
    """One routing rule: when `match` matches, page `notify` (channel names, in order) and
    escalate by `escalation` (steps in order of `after`, time since firing); `continue_` lets
    later rules match too."""

    name: str
    match: Match = Match()
    notify: tuple[str, ...] = ()
    escalation: tuple[EscalationStep, ...] = ()
    continue_: bool = False


class RouteDecision(BaseModel):
    """Where an alert goes: the matched route(s) (or `default`), the first-page channels in
    order without duplicates, the escalation plan to freeze into the alert, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    route: str
    matched: tuple[str, ...]
    channels: tuple[str, ...]
    plan: EscalationPlan
    explanation: list[str]


class HasType(Protocol):
    @property
    def type(self) -> str: ...


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """`values` in first-seen order without duplicates."""
    return tuple(dict.fromkeys(values))


def resolve(
    subject: Routable,
    rules: Sequence[Rule],
    channels: Mapping[str, HasType],
    *,
    repeat_every: timedelta | None = None,
) -> RouteDecision:
    """Resolve `subject` against `rules` (in order), falling back to the seed default over the
    configured `channels` (name → config with a `type`). Deterministic; never raises."""
    explanation: list[str] = []
    matched: list[Rule] = []
    for index, route in enumerate(rules, start=1):
        label = f"route {route.name!r} (#{index})"
        if matched and not matched[-1].continue_:
            explanation.append(f"{label}: not tried (an earlier route matched without continue)")
            continue
        ok, reasons = route.match.check(subject)
        if not ok:
            explanation.append(f"{label}: no match: {'; '.join(reasons)}")
            continue
        matched.append(route)
        notified = ", ".join(route.notify) or "nobody"
        then = "continue" if route.continue_ else "stop"
        explanation.append(f"{label}: matched: {'; '.join(reasons)} → {notified}; {then}")
        unknown = [c for c in route.notify if c not in channels]
        if unknown:
            explanation.append(f"  unknown channel(s) {', '.join(unknown)}: `config check`")
    if not matched:
        return _default(subject.severity, channels, repeat_every, explanation)
    steps: tuple[EscalationStep, ...] = ()
    source = next((r for r in matched if r.escalation), None)
    if source is None:
        explanation.append("escalation: none (no matching route defines one)")
    else:
        steps = tuple(source.escalation)
        explanation.append(f"escalation from route {source.name!r}: {describe_steps(steps)}")
    names = tuple(r.name for r in matched)
    targets = unique(c for r in matched for c in r.notify)
    plan = EscalationPlan(
        route="+".join(names), channels=targets, steps=steps, repeat_every=repeat_every
    )
    return RouteDecision(
        route=plan.route, matched=names, channels=targets, plan=plan, explanation=explanation
    )


def _default(
    severity: Severity,
    channels: Mapping[str, HasType],
    repeat_every: timedelta | None,
    explanation: list[str],
) -> RouteDecision:
    types = {name: config.type for name, config in channels.items()}
    targets, why = fallback.first_page(severity, types)
    steps, why_steps = fallback.escalation(severity, types)
    explanation.append(f"no route matched: default for {severity}: {why}")
    explanation.append(f"escalation (default for {severity}): {why_steps}")
    plan = EscalationPlan(route="default", channels=targets, steps=steps, repeat_every=repeat_every)
    return RouteDecision(
        route="default", matched=(), channels=targets, plan=plan, explanation=explanation
    )


def describe_steps(steps: Sequence[EscalationStep]) -> str:
    """`after 10m → pager (mention @dba-oncall); after 30m → …`, or `none`."""
    if not steps:
        return "none"
    parts = []
    for step in steps:
        targets = [*step.notify, *step.page]
        text = f"after {format_duration(step.after)} → {', '.join(targets) or 'nobody'}"
        if step.mention:
            text += f" (mention {', '.join(step.mention)})"
        parts.append(text)
    return "; ".join(parts)


@dataclass(frozen=True)
class RouteQuery:
    """A hypothetical alert for a routing dry run (`perfbot route test`, `/perf route test`)."""

    severity: Severity
    kind: AlertKind
    operation_types: tuple[str, ...]
    bottleneck: BottleneckType | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, severity: str, kind: str, operations: Sequence[str], bottleneck: str | None = None
    ) -> "RouteQuery":
        """From command-line words; `anomaly` means a statistical anomaly. Raises BadArguments
        with a message that lists the accepted values."""
        try:
            parsed_severity = Severity.parse(severity)
        except ValueError:
            raise errors.BadArguments(
                f"unknown severity {severity!r}; use CRITICAL, WARNING or INFO"
            ) from None
        word = kind.strip().lower()
        word = AlertKind.STATISTICAL.value if word == "anomaly" else word
        try:
            parsed_kind = AlertKind(word)
        except ValueError:
            raise errors.BadArguments(
                f"unknown kind {kind!r}; use one of {', '.join(KINDS)}"
            ) from None
        parsed_bottleneck = None
        if bottleneck:
            try:
                parsed_bottleneck = BottleneckType(bottleneck.strip().upper())
            except ValueError:
                names = ", ".join(b.value for b in BottleneckType)
                raise errors.BadArguments(
                    f"unknown bottleneck {bottleneck!r}; use one of {names}"
                ) from None
        return cls(parsed_severity, parsed_kind, unique(operations), parsed_bottleneck)


@dataclass(frozen=True)
class Router:
    """Rules, the configured channels and the repeat interval, bound together so that the
    lifecycle can re-resolve a candidate at whatever severity it ends up with. Built from
    configuration by `bot.config.build.router`."""

    rules: tuple[Rule, ...]
    channels: Mapping[str, HasType]
    repeat_every: timedelta | None = None

    def resolve(self, subject: Routable) -> RouteDecision:
        """See `resolve`."""
        return resolve(subject, self.rules, self.channels, repeat_every=self.repeat_every)

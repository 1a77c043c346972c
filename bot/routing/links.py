"""Runbook and dashboard links on alert cards: which links an alert gets, from the `links:`
rules, with the alert's facts substituted into each URL template.

A rule matches like a route's `match` (`bot.routing.rules.Match`: operation globs, kinds,
bottleneck classes, severities; an empty match matches every alert). Every matching rule adds
its links, in rule order; a URL already added is not repeated. Templates may hold the
placeholders in `PLACEHOLDERS`; each value is percent-encoded whole (`/`, `?`, `&`, `#` too),
so an operation name can never change a URL's host, path or query. `{{` and `}}` stand for
literal braces. Pure: rules and an alert in, links out."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

from bot.routing.rules import Match, Routable

PLACEHOLDERS = ("operation", "alert_id", "kind", "severity", "bottleneck")
"""`operation`: the alert's first operation (empty when it has none); `alert_id`: its id;
`kind`, `severity` and `bottleneck` (empty when none) as lower- or upper-case names."""

_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class Link:
    """A link as rendered: a label (plain text, escaped by each renderer) and an absolute URL."""

    label: str
    url: str


@dataclass(frozen=True)
class LinkRule:
    """One `links:` entry: when `match` matches, add `links` (URL templates)."""

    match: Match = field(default_factory=Match)
    links: tuple[Link, ...] = ()


class Linkable(Routable, Protocol):
    """What links look at: a routable alert with an id."""

    @property
    def id(self) -> int: ...


def template_problem(template: str) -> str | None:
    """Why `template` cannot be expanded (an unknown placeholder, a lone brace), or None."""
    for found in _FIELD.finditer(template):
        token = found.group(0)
        if token in ("{{", "}}"):
            continue
        if found.group(1) is None:
            return f"has a lone {token!r}: write {token * 2} for a literal brace"
        if found.group(1) not in PLACEHOLDERS:
            return f"has an unknown placeholder {{{found.group(1)}}}; expected one of " + ", ".join(
                f"{{{p}}}" for p in PLACEHOLDERS
            )
    return None


def expand(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `{name}` replaced by `values[name]` percent-encoded (no character
    kept safe) and `{{`/`}}` by a brace. Raises ValueError where `template_problem` says why."""
    problem = template_problem(template)
    if problem is not None:
        raise ValueError(f"URL template {problem}")

    def substitute(found: re.Match[str]) -> str:
        token = found.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return quote(values.get(found.group(1), ""), safe="")

    return _FIELD.sub(substitute, template)


def values_of(alert: Linkable) -> dict[str, str]:
    """The placeholders' values for `alert`, unencoded."""
    return {
        "operation": alert.operation_types[0] if alert.operation_types else "",
        "alert_id": str(alert.id),
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "bottleneck": alert.bottleneck.value if alert.bottleneck is not None else "",
    }


def links_for(alert: Linkable, rules: Sequence[LinkRule]) -> tuple[Link, ...]:
    """The links every matching rule gives `alert`, in rule order, URLs expanded, each URL
    once (its first label wins)."""
    values = values_of(alert)
    out: list[Link] = []
    seen: set[str] = set()
    for rule in rules:
        if not rule.match.check(alert)[0]:
            continue
        for link in rule.links:
            url = expand(link.url, values)
            if url not in seen:
                seen.add(url)
                out.append(Link(link.label, url))
    return tuple(out)

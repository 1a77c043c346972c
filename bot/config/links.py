"""The `links:` section: runbook and dashboard links added to alert cards on every channel.

Each entry has a `match` (the same keys as a route's: `operation` globs, `kind`, `bottleneck`,
`severity`; empty matches every alert) and `links`, a list of `{label, url}`. A URL is an
absolute http(s) URL that may hold `{operation}`, `{alert_id}`, `{kind}`, `{severity}` and
`{bottleneck}`, substituted percent-encoded (`bot.routing.links`). A bad URL or an unknown
placeholder is reported with its YAML path (`links.0.links.1.url`)."""

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from bot.config.routes import RouteMatch
from bot.config.section import Section
from bot.routing.links import PLACEHOLDERS, Link, LinkRule, expand, template_problem

MAX_LABEL = 75  # Slack's limit for a button's text


class LinkEntry(Section):
    """One link: `label` (shown as typed) and `url` (an http or https URL template)."""

    label: str = Field(min_length=1, max_length=MAX_LABEL)
    url: str = Field(min_length=1, max_length=2000)

    @field_validator("url")
    @classmethod
    def _absolute_http(cls, value: str) -> str:
        problem = template_problem(value)
        if problem is not None:
            raise ValueError(problem)
        # check the URL with every placeholder filled in, as it will be sent
        sample = expand(value, {name: "x" for name in PLACEHOLDERS})
        try:
            parts = urlsplit(sample)
        except ValueError as exc:
            raise ValueError(f"is not a URL: {exc}") from exc
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// URL")
        if any(c.isspace() or ord(c) < 32 for c in value):
            raise ValueError("must not contain spaces or control characters (percent-encode them)")
        return value


class LinkSettings(Section):
    """One entry of `links:`: when `match` matches an alert, its card shows `links`."""

    match: RouteMatch = Field(default_factory=RouteMatch)
    links: list[LinkEntry] = Field(min_length=1)

    def to_rule(self) -> LinkRule:
        """The routing core's value."""
        return LinkRule(
            match=self.match.to_match(),
            links=tuple(Link(entry.label, entry.url) for entry in self.links),
        )

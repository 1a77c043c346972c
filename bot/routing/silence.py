"""Silences: which alerts a silence mutes, when it expires, and muting an alert.

A silence matches when every field it gives matches:
* `operation`: a shell-style glob; a multi-operation alert matches if any operation does;
* `kind`: an exact kind, or `anomaly` for the statistical/threshold/combined family;
* `severity`: *this severity or lower*. Silencing WARNING mutes WARNING and INFO, but an alert
  that rises to CRITICAL breaks through and pages: a silence must not hide a worsening;
* `bottleneck`: the bottleneck class;
* `alert_id`: one alert (a candidate that is not stored yet never matches it);
* `labels`: each given label equal to the alert's (external alerts; `label.team=db`).

A silenced alert still exists and is updated; it sends nothing and does not escalate, and its
resolved notice is still sent. While muted, its `next_escalation_at` is the silence's expiry,
so the escalation tick wakes it up and re-checks when the silence ends.

A *broad* silence (`is_broad`) can mute CRITICAL alerts of every operation: no alert id, no
operation pattern narrower than a glob of fewer than 3 literal characters (`*`, `?*`), and no
severity below CRITICAL. It needs
`permissions.silence_all` and lasts at most `silences.max_broad` (`broad_problem`)."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import errors
from bot.durations import format_duration
from bot.models import Alert, AlertStatus, NewSilence, Severity, Silence, SilenceMatch
from bot.routing import transition
from bot.routing.rules import KINDS, Routable, kind_matches, labels_match, operations_match
from bot.routing.transition import Actor, Transition

MAX_DURATION = timedelta(days=30)
MAX_BROAD = timedelta(hours=4)
MIN_LITERAL = 3
GLOB = frozenset("*?[")


def is_broad(match: SilenceMatch) -> bool:
    """Whether a silence with `match` can mute CRITICAL alerts of any operation: it names no
    alert, its operation pattern (if any) is a glob with fewer than 3 literal characters (`*`,
    `?*`, `[a-z]*`, `*_*`), and its severity (if any) is CRITICAL (`severity=critical` mutes
    CRITICAL and everything below it). Kind and bottleneck filters do not narrow it: every
    operation's CRITICAL degradations are still muted."""
    if match.alert_id is not None or match.labels:
        return False  # labels narrow it to external alerts that carry them
    if match.operation is not None and not _matches_nearly_anything(match.operation.strip()):
        return False
    return match.severity in (None, Severity.CRITICAL)


def _matches_nearly_anything(pattern: str) -> bool:
    """A glob with fewer than `MIN_LITERAL` literal characters outside `*`, `?` and `[…]`; a
    name without glob characters is one operation, never broad."""
    if not GLOB & set(pattern):
        return False
    literal, i = 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            end = pattern.find("]", i + 2)
            if end != -1:
                i = end + 1
                continue
        if char not in "*?":
            literal += 1
        i += 1
    return literal < MIN_LITERAL


def broad_problem(match: SilenceMatch, duration: timedelta, max_broad: timedelta) -> str | None:
    """Why a silence for `duration` is too long for its match (a broad one is capped at
    `max_broad`), user-safe; None if it is not."""
    if not is_broad(match) or duration <= max_broad:
        return None
    return (
        f"a silence that mutes CRITICAL alerts of every operation lasts at most "
        f"{format_duration(max_broad)} (silences.max_broad); name an operation, an alert "
        f"(alert=ID) or severity=warning to silence for longer"
    )


def validate_match(match: SilenceMatch) -> SilenceMatch:
    """`match` if it is a usable silence; raises BadArguments (user-safe) otherwise."""
    if (
        all(
            value is None
            for value in (
                match.operation,
                match.kind,
                match.severity,
                match.bottleneck,
                match.alert_id,
            )
        )
        and not match.labels
    ):
        raise errors.BadArguments(
            "a silence needs at least one of: alert id, operation, kind, severity, bottleneck, "
            "label.NAME=VALUE"
        )
    if match.operation is not None and not match.operation.strip():
        raise errors.BadArguments("the operation pattern of a silence must not be empty")
    if match.kind is not None and match.kind not in KINDS:
        raise errors.BadArguments(f"unknown kind {match.kind!r}; use one of {', '.join(KINDS)}")
    return match


def new_silence(
    match: SilenceMatch, actor: Actor, now: datetime, duration: timedelta, reason: str | None = None
) -> NewSilence:
    """A validated silence from `now` for `duration` (at most 30 days); raises BadArguments."""
    validate_match(match)
    if duration <= timedelta(0):
        raise errors.BadArguments("a silence needs a positive duration, e.g. 30m or 2h")
    if duration > MAX_DURATION:
        raise errors.BadArguments("a silence can last at most 30 days")
    return NewSilence(
        match=match,
        reason=reason,
        created_by=actor.label,
        source=actor.source,
        created_at=now,
        expires_at=now + duration,
    )


def matches(match: SilenceMatch, subject: Routable) -> bool:
    """Whether every field `match` gives matches `subject` (an alert or a candidate)."""
    if match.alert_id is not None and not (
        isinstance(subject, Alert) and subject.id == match.alert_id
    ):
        return False
    if match.operation is not None and not operations_match(
        subject.operation_types, [match.operation]
    ):
        return False
    if match.kind is not None and not kind_matches(subject.kind, match.kind):
        return False
    if match.severity is not None and subject.severity > match.severity:
        return False
    if match.labels and not labels_match(subject.labels, match.labels):
        return False
    return match.bottleneck is None or subject.bottleneck is match.bottleneck


def matching_silence(
    subject: Routable, silences: Sequence[Silence], now: datetime
) -> Silence | None:
    """The active silence that mutes `subject` at `now`, or None. Of several, the one that
    lasts longest (then the lowest id), so the alert wakes up as rarely as possible."""
    active = [s for s in silences if s.active_at(now) and matches(s.match, subject)]
    if not active:
        return None
    return min(active, key=lambda s: (-s.expires_at.timestamp(), s.id))


def describe(match: SilenceMatch) -> str:
    """`operation merge* · severity ≤ WARNING`, for notes and explanations."""
    parts = []
    if match.alert_id is not None:
        parts.append(f"alert #{match.alert_id}")
    if match.operation is not None:
        parts.append(f"operation {match.operation}")
    if match.kind is not None:
        parts.append(f"kind {match.kind}")
    if match.severity is not None:
        parts.append(f"severity ≤ {match.severity}")
    if match.bottleneck is not None:
        parts.append(f"bottleneck {match.bottleneck}")
    for name, value in sorted((match.labels or {}).items()):
        parts.append(f"label {name}={value}")
    return " · ".join(parts)


def mute(
    alert: Alert, silence: Silence, now: datetime, actor: Actor = transition.SYSTEM
) -> Transition:
    """`alert` muted by `silence`: it stops paging; an open top-level alert wakes at the
    silence's expiry to re-check. Its existing messages are edited to show it is silenced."""
    wake = (
        silence.expires_at if alert.status is AlertStatus.OPEN and alert.parent_id is None else None
    )
    muted = transition.evolve(alert, now, silence_id=silence.id, next_escalation_at=wake)
    return Transition(
        alert=muted,
        events=(
            transition.event(
                alert.id,
                "silenced",
                now,
                actor,
                silence_id=silence.id,
                expires_at=silence.expires_at.isoformat(),
            ),
        ),
        sends=transition.sends(alert.notified_channels, "updated", alert_id=alert.id),
        note=f"{transition.ref(alert)} silenced by silence #{silence.id} until "
        f"{silence.expires_at:%Y-%m-%d %H:%M} UTC",
    )

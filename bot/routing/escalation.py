"""Escalation timing over the plan frozen into an alert when it fired.

Step `after` durations are measured from the first page (cumulative), as Grafana OnCall's
escalation snapshot does: editing the routes later never changes a running escalation.
`escalation_step` counts the steps already run; `next_escalation_at` is when the next one is
due (UTC). Steps with `after` 0 run with the first page. When the tick comes late, every step
already due runs at once, keeping the plan's cadence. After the last step, an open alert is
reminded every `repeat_every` (event `repeat`) if the plan has one.

Acknowledged, resolved and grouped-child alerts never escalate. A silenced alert wakes at its
silence's expiry: still silenced → sleep again; otherwise it is unmuted and pages.

A step's `page` targets (people: `oncall:<schedule>`, `person:<id>`) are resolved by the caller
at the moment the step runs and passed in as a `Directory`; `bot.routing.paging` decides what
paging them gives (frozen into the alert's `paged`, mentioned in its thread, delivered to
each person)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from bot.models import Alert, AlertStatus, EscalationPlan, EscalationStep, Silence
from bot.routing import paging, transition
from bot.routing import silence as silences_
from bot.routing.paging import Directory
from bot.routing.rules import describe_steps, unique
from bot.routing.transition import SYSTEM, Actor, Transition

NOBODY: Directory = MappingProxyType({})


@dataclass(frozen=True)
class Page:
    """The first page of a plan: channels (first-page plus immediate steps), mentions, how many
    steps that ran, and when the next step is due (UTC) or None."""

    channels: tuple[str, ...]
    mention: tuple[str, ...]
    step: int
    next_at: datetime | None


def begin(plan: EscalationPlan, now: datetime) -> Page:
    """The first page of `plan` at `now`."""
    immediate: list[EscalationStep] = []
    for step in plan.steps:
        if step.after.total_seconds() > 0:
            break
        immediate.append(step)
    channels = unique([*plan.channels, *(c for s in immediate for c in s.notify)])
    mention = unique(m for s in immediate for m in s.mention)
    return Page(channels, mention, len(immediate), _next_after(plan, len(immediate), now, now))


def _next_after(
    plan: EscalationPlan, step: int, anchor: datetime, now: datetime
) -> datetime | None:
    """When step `step` is due for an escalation anchored at `anchor`; past the last step, the
    next reminder from `now`, or None."""
    if step < len(plan.steps):
        return anchor + plan.steps[step].after
    return now + plan.repeat_every if plan.repeat_every else None


def resume_at(alert: Alert, now: datetime) -> datetime | None:
    """When the next step is due if escalation resumes at `now` (after unacknowledge or
    unsilence): the wait before that step starts again."""
    steps, step = alert.plan.steps, alert.escalation_step
    if step < len(steps):
        previous = steps[step - 1].after if step > 0 else timedelta(0)
        return now + (steps[step].after - previous)
    return now + alert.plan.repeat_every if alert.plan.repeat_every else None


def escalates(alert: Alert) -> bool:
    """Whether `alert` may escalate at all: open, top-level and not silenced."""
    return alert.status is AlertStatus.OPEN and alert.parent_id is None and alert.silence_id is None


def tick(
    alert: Alert, silences: Sequence[Silence], now: datetime, directory: Directory = NOBODY
) -> Transition | None:
    """What the escalation job does with `alert` at `now`: None when nothing is due; otherwise
    the due steps (event `escalated`), a reminder (`repeat`), a silence re-check, or clearing a
    stale timer of an alert that cannot escalate."""
    if alert.next_escalation_at is None or alert.next_escalation_at > now:
        return None
    if alert.status is not AlertStatus.OPEN or alert.parent_id is not None:
        cleared = transition.evolve(alert, now, next_escalation_at=None)
        return Transition(alert=cleared, note=f"{transition.ref(alert)} does not escalate")
    muting = silences_.matching_silence(alert, silences, now)
    if alert.silence_id is not None:
        if muting is None:
            return unmute(alert, now, reason="silence ended")
        if muting.id == alert.silence_id:
            slept = transition.evolve(alert, now, next_escalation_at=muting.expires_at)
            return Transition(alert=slept, note=f"{transition.ref(alert)} still silenced")
    if muting is not None:
        return silences_.mute(alert, muting, now)
    if alert.escalation_step < len(alert.plan.steps):
        return _run_due_steps(alert, now, directory)
    return _repeat(alert, now)


def timer_due(alert: Alert, now: datetime) -> bool:
    """Whether `alert` is open and its escalation timer has come (the escalation job ticks it)."""
    at = alert.next_escalation_at
    return alert.status is AlertStatus.OPEN and at is not None and at <= now


def due_targets(alert: Alert, now: datetime) -> tuple[str, ...]:
    """The people targets of the steps `tick` would run at `now` (for the caller to resolve);
    for a person's escalation, use `next_targets`."""
    plan, step = alert.plan, alert.escalation_step
    if alert.next_escalation_at is None or alert.next_escalation_at > now:
        return ()
    if step >= len(plan.steps):
        return ()
    anchor = alert.next_escalation_at - plan.steps[step].after
    due = [s for s in plan.steps[step:] if anchor + s.after <= now]
    return unique(t for s in due for t in s.page)


def next_targets(alert: Alert) -> tuple[str, ...]:
    """The people targets of the step `escalate_now` would run (or re-run)."""
    steps, step = alert.plan.steps, alert.escalation_step
    if step < len(steps):
        return steps[step].page
    return steps[-1].page if steps else ()


def _run_due_steps(alert: Alert, now: datetime, directory: Directory) -> Transition:
    plan, step = alert.plan, alert.escalation_step
    assert alert.next_escalation_at is not None  # checked by tick
    anchor = alert.next_escalation_at - plan.steps[step].after
    ran: list[EscalationStep] = []
    while step < len(plan.steps) and anchor + plan.steps[step].after <= now:
        ran.append(plan.steps[step])
        step += 1
    next_at = _next_after(plan, step, anchor, now)
    return _escalated(alert, ran, step, next_at, now, SYSTEM, directory=directory)


def _escalated(
    alert: Alert,
    ran: Sequence[EscalationStep],
    step: int,
    next_at: datetime | None,
    now: datetime,
    actor: Actor,
    note: str = "",
    directory: Directory = NOBODY,
) -> Transition:
    added = unique(c for s in ran for c in s.notify)
    channels = unique([*alert.notified_channels, *added])
    pages = paging.page((t for s in ran for t in s.page), directory, max(step, 1), now)
    mention = unique([*(m for s in ran for m in s.mention), *pages.mention])
    updated = transition.evolve(
        alert,
        now,
        escalation_step=step,
        next_escalation_at=next_at,
        notified_channels=channels,
        paged=(*alert.paged, *pages.paged),
    )
    what = describe_steps(ran)
    if pages.paged:
        what += "; paged " + ", ".join(paging.describe(p) for p in pages.paged)
    if pages.nobody:
        what += "; nobody to page for " + ", ".join(pages.nobody)
    return Transition(
        alert=updated,
        events=(
            transition.event(
                alert.id,
                "escalated",
                now,
                actor,
                step=step,
                of=len(alert.plan.steps),
                channels=list(added),
                mention=list(mention),
                paged=[p.person for p in pages.paged],
                nobody=list(pages.nobody),
                automatic=actor == SYSTEM,
            ),
        ),
        sends=(
            *transition.sends(channels, "escalated", mention, alert.id),
            *transition.sends(pages.channels, "escalated", (), alert.id),
        ),
        note=note
        or f"{transition.ref(alert)} escalated to step {step} of {len(alert.plan.steps)}: {what}",
    )


def _repeat(alert: Alert, now: datetime) -> Transition:
    every = alert.plan.repeat_every
    if every is None:
        cleared = transition.evolve(alert, now, next_escalation_at=None)
        return Transition(alert=cleared, note=f"{transition.ref(alert)} has no further steps")
    last = alert.plan.steps[-1].mention if alert.plan.steps else ()
    updated = transition.evolve(alert, now, next_escalation_at=now + every)
    return Transition(
        alert=updated,
        events=(transition.event(alert.id, "repeated", now, every_s=every.total_seconds()),),
        sends=transition.sends(alert.notified_channels, "repeat", last, alert.id),
        note=f"{transition.ref(alert)} is still unacknowledged; reminded",
    )


def escalate_now(
    alert: Alert, actor: Actor, now: datetime, directory: Directory = NOBODY
) -> Transition:
    """A person's escalation: run the next step now; past the last step, re-notify the last
    step (or, with no steps, the first-page channels) and say so in `note`. An acknowledged
    alert stays acknowledged and gets no timer."""
    plan, step = alert.plan, alert.escalation_step
    timed = alert.status is AlertStatus.OPEN
    if step < len(plan.steps):
        ran = [plan.steps[step]]
        gap = (
            plan.steps[step + 1].after - plan.steps[step].after
            if step + 1 < len(plan.steps)
            else None
        )
        next_at = (
            (now + gap if gap is not None else _next_after(plan, step + 1, now, now))
            if timed
            else None
        )
        return _escalated(alert, ran, step + 1, next_at, now, actor, directory=directory)
    next_at = _next_after(plan, step, now, now) if timed else None
    if plan.steps:
        note = (
            f"{transition.ref(alert)} is past its last escalation step; "
            f"re-notified step {len(plan.steps)}: {describe_steps(plan.steps[-1:])}"
        )
        return _escalated(alert, plan.steps[-1:], step, next_at, now, actor, note, directory)
    replay = EscalationStep(notify=plan.channels)
    note = f"{transition.ref(alert)} has no escalation steps; re-notified {', '.join(plan.channels) or 'nobody'}"
    return _escalated(alert, [replay], step, next_at, now, actor, note)


def unmute(alert: Alert, now: datetime, reason: str, actor: Actor = SYSTEM) -> Transition:
    """`alert` no longer silenced. An open top-level alert that never paged pages now (event
    `fired`); one that had paged resumes escalating and its messages drop the silenced mark."""
    changes: dict[str, object] = {"silence_id": None}
    sends = transition.sends(alert.notified_channels, "updated", alert_id=alert.id)
    if alert.status is AlertStatus.OPEN and alert.parent_id is None:
        if alert.notified_channels:
            changes["next_escalation_at"] = resume_at(alert, now)
        else:
            page = begin(alert.plan, now)
            changes.update(
                notified_channels=page.channels,
                escalation_step=page.step,
                next_escalation_at=page.next_at,
            )
            sends = transition.sends(page.channels, "fired", page.mention, alert.id)
    else:
        changes["next_escalation_at"] = None
    return Transition(
        alert=transition.evolve(alert, now, **changes),
        events=(
            transition.event(
                alert.id, "unsilenced", now, actor, silence_id=alert.silence_id, reason=reason
            ),
        ),
        sends=sends,
        note=f"{transition.ref(alert)} is no longer silenced ({reason})",
    )

"""The alert service: turns detections into alerts and chat actions into state changes, and
persists what the pure routing core decides. Every change happens in one transaction under the
alerts lock: the alert's new state, its audit events, its queued deliveries and the detections it
takes from pending (linked to it) together."""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from bot import errors
from bot.clock import Clock
from bot.config import Settings, build
from bot.models import Alert, AlertStatus, Anomaly, Correlation, Silence, SilenceMatch
from bot.oncall import OncallService
from bot.routing import actions, candidate, escalation, grouping, lifecycle, permission, transition
from bot.routing import silence as silence_
from bot.routing.rules import RouteDecision, RouteQuery
from bot.routing.transition import Actor, Send, Transition
from bot.store import Store
from bot.store.alerts import AlertTx

logger = logging.getLogger(__name__)

AlertAction = Literal["ack", "unack", "escalate", "resolve"]


class AlertService:
    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self.router = build.router(settings)
        self.policy = build.lifecycle_policy(settings.alerts)
        self.permissions = settings.permissions.to_permissions()
        self.oncall = OncallService(store, settings, clock)

    # ---- detection → alerts ------------------------------------------------------------------

    async def process_pending(self, now: datetime) -> list[Alert]:
        """Alert what detection committed and alerting has not taken yet (this cycle's, or what
        a failed run left): anomalies oldest first, then correlations, whose bottleneck alerts
        group the anomaly alerts. Returns the alerts fired or updated."""
        touched = await self.process_anomalies(await self._store.findings.pending_anomalies(), now)
        correlations = await self._store.findings.pending_correlations()
        return touched + await self.process_correlations(correlations, now)

    async def process_anomalies(self, anomalies: Sequence[Anomaly], now: datetime) -> list[Alert]:
        """Decide and persist an alert change for each anomaly. A stored one is taken from
        pending and linked to its alert in that same transaction, so it counts once however
        often this runs. Returns the alerts fired or updated."""
        touched = []
        for anomaly in anomalies:
            ids = () if anomaly.id is None else (anomaly.id,)
            alert = await self._process(candidate.from_anomaly(anomaly), now, anomaly_ids=ids)
            if alert is not None:
                touched.append(alert)
        return touched

    async def process_correlations(
        self, correlations: Sequence[Correlation], now: datetime
    ) -> list[Alert]:
        """One bottleneck alert per connected cluster of each analysis's correlated pairs,
        taken and linked like anomalies."""
        analyses: dict[datetime, list[Correlation]] = {}
        for c in correlations:
            analyses.setdefault(c.analyzed_at, []).append(c)
        touched = []
        for analysis in analyses.values():
            for cluster in candidate.clusters(analysis):
                ids = tuple(c.id for c in cluster.correlations if c.id is not None)
                alert = await self._process(
                    candidate.from_cluster(cluster), now, correlation_ids=ids
                )
                if alert is not None:
                    touched.append(alert)
        return touched

    async def _process(
        self,
        cand: candidate.AlertCandidate,
        now: datetime,
        *,
        anomaly_ids: Sequence[int] = (),
        correlation_ids: Sequence[int] = (),
    ) -> Alert | None:
        async with self._store.alerts.transaction() as tx:
            await tx.lock()
            if not await tx.take_findings(anomaly_ids, correlation_ids):
                logger.debug(
                    "detection already alerted",
                    extra={"action": "alert_already_taken", "fingerprint": cand.fingerprint},
                )
                return None
            related = await tx.related(cand.operation_types, cand.fingerprint)
            window = self.policy.recurrence_window
            recent = lifecycle.recurrence_counts(
                await tx.created_since(now - window, cand.operation_types), now, window
            )
            silences = await tx.active_silences(now)
            decision = lifecycle.decide(
                cand,
                related=related,
                recent=recent,
                silences=silences,
                router=self.router,
                policy=self.policy,
                now=now,
            )
            if isinstance(decision, lifecycle.Record):
                logger.debug(
                    "detection recorded only",
                    extra={
                        "action": "alert_skipped",
                        "fingerprint": cand.fingerprint,
                        "reason": decision.reason,
                    },
                )
                return None
            if isinstance(decision, lifecycle.Fire):
                alert = await tx.insert_alert(decision.alert)
                for ev in decision.events:
                    await tx.add_event(ev.model_copy(update={"alert_id": ev.alert_id or alert.id}))
                await self._enqueue(tx, decision.sends, alert, now)
                for child in await tx.alerts_by_ids(decision.children):
                    await self._apply(tx, grouping.attach(child, alert.id, now), now)
                await tx.link_findings(alert.id, anomaly_ids, correlation_ids)
                logger.info(
                    "alert fired",
                    extra={
                        "action": "alert_fired",
                        "alert_id": alert.id,
                        "fingerprint": alert.fingerprint,
                        "severity": alert.severity.value,
                        "route": decision.route.route,
                        "channels": [s.channel for s in decision.sends],
                        "note": decision.note,
                    },
                )
                return alert
            updated = await self._apply(tx, decision, now)
            for child in await tx.alerts_by_ids(decision.children):
                await self._apply(tx, grouping.attach(child, updated.id, now), now)
            await tx.link_findings(updated.id, anomaly_ids, correlation_ids)
            return updated

    async def process_external(self, cand: candidate.AlertCandidate, now: datetime) -> Alert | None:
        """Fire or update the alert for an external candidate (`bot.alertmanager`)."""
        return await self._process(cand, now)

    async def resolve_fingerprint(self, fingerprint: str, actor: Actor, now: datetime) -> bool:
        """Resolve the unresolved alert with `fingerprint` as its source says; False if none."""
        async with self._store.alerts.transaction() as tx:
            await tx.lock()
            alert = next((a for a in await tx.related((), fingerprint)), None)
            if alert is not None:
                await self._apply(tx, actions.resolve(alert, actor, now), now)
        return alert is not None

    # ---- persistence ---------------------------------------------------------------------------

    async def _apply(self, tx: AlertTx, t: Transition, now: datetime) -> Alert:
        stored = await tx.update_alert(t.alert)
        for ev in t.events:
            await tx.add_event(ev)
        await self._enqueue(tx, t.sends, stored, now)
        return stored

    async def _enqueue(
        self, tx: AlertTx, sends: Sequence[Send], alert: Alert, now: datetime
    ) -> None:
        for send in sends:
            target = send.alert_id or alert.id
            severity = (
                alert.severity if target == alert.id else (await tx.lock_alert(target)).severity
            )
            await tx.enqueue(
                target,
                send.channel,
                send.event,
                severity,
                now=now,
                max_attempts=self._settings.delivery.max_attempts,
                mention=send.mention,
            )

    # ---- timers ---------------------------------------------------------------------------------

    async def tick(self, now: datetime) -> int:
        """Run due escalation steps, repeats and silence expiries, and auto-resolve quiet alerts.
        Returns how many alerts changed."""
        changed = 0
        async with self._store.alerts.transaction() as tx:
            await tx.lock()
            silences = await tx.active_silences(now)
            unresolved = await tx.unresolved()
            by_id = {a.id: a for a in unresolved}
            due = (t for a in unresolved for t in escalation.due_targets(a, now))
            directory = await self.oncall.directory(due, now)
            for alert in unresolved:
                if escalation.timer_due(alert, now):
                    t = escalation.tick(alert, silences, now, directory)
                    if t is not None:
                        by_id[alert.id] = await self._apply(tx, t, now)
                        changed += 1
            for alert in list(by_id.values()):
                parent = by_id.get(alert.parent_id) if alert.parent_id else None
                t = lifecycle.auto_resolve(alert, now, self.policy, parent=parent)
                if t is None:
                    continue
                by_id[alert.id] = await self._apply(tx, t, now)
                changed += 1
                for child in [
                    a
                    for a in by_id.values()
                    if a.parent_id == alert.id and a.status is not AlertStatus.RESOLVED
                ]:
                    by_id[child.id] = await self._apply(tx, grouping.release(child, now), now)
                    changed += 1
        if changed:
            logger.info("alert timers", extra={"action": "alert_tick", "changed": changed})
        return changed

    # ---- actions from chat and the CLI -----------------------------------------------------------

    async def act(
        self, action: AlertAction, alert_id: int, actor: Actor, note: str | None = None
    ) -> Transition:
        """Run `action` (ack, unack, escalate, resolve) on an alert for `actor`. Raises
        PermissionDenied (audited), NotFound or InvalidTransition with a user-safe message.
        Permission is checked before the alert is looked up, so a refused user learns nothing
        about which alerts exist."""
        now = self._clock.now()
        await self._check_permission(action, alert_id, actor, now)
        if await self._store.alerts.get(alert_id) is None:
            raise errors.NotFound(f"there is no alert #{alert_id}")
        async with self._store.alerts.transaction() as tx:
            await tx.lock()
            alert = await tx.lock_alert(alert_id)
            if action == "ack":
                t = actions.acknowledge(alert, actor, now)
            elif action == "unack":
                t = actions.unacknowledge(alert, actor, now)
            elif action == "escalate":
                last = await tx.last_event(alert_id, "escalated")
                people = await self.oncall.directory(escalation.next_targets(alert), now)
                t = actions.escalate(alert, actor, now, last, people)
            else:
                t = actions.resolve(alert, actor, now, note)
            if note and action != "resolve":
                t = t.model_copy(
                    update={
                        "events": tuple(
                            e.model_copy(update={"details": {**e.details, "note": note}})
                            for e in t.events
                        )
                    }
                )
            await self._apply(tx, t, now)
        logger.info(
            "alert action",
            extra={
                "action": f"alert_{action}",
                "alert_id": alert_id,
                "actor": actor.label,
                "source": actor.source.value,
            },
        )
        return t

    async def silence(
        self, match: SilenceMatch, duration: timedelta, reason: str | None, actor: Actor
    ) -> tuple[Silence, str]:
        """Create a silence and mute the open alerts it matches; returns it and a note. A broad
        one (`silence.is_broad`) needs `permissions.silence_all` and `silences.max_broad`."""
        now = self._clock.now()
        await self.require("silence", actor, match.alert_id)
        if silence_.is_broad(match):
            await self.require("silence_all", actor, None)
        problem = silence_.broad_problem(match, duration, self._settings.silences.max_broad)
        if problem is not None:
            raise errors.BadArguments(problem)
        if match.alert_id is not None and await self._store.alerts.get(match.alert_id) is None:
            raise errors.NotFound(f"there is no alert #{match.alert_id}")
        async with self._store.alerts.transaction() as tx:
            await tx.lock()
            if match.alert_id is not None:
                await tx.lock_alert(match.alert_id)
            created = actions.silence(match, actor, now, duration, reason)
            same = actions.duplicate_silence(created.silence, await tx.active_silences(now))
            if same is not None:
                logger.info(
                    "silence not duplicated",
                    extra={"action": "silence_duplicate", "silence_id": same.id},
                )
                until = f"{same.expires_at:%Y-%m-%d %H:%M} UTC"
                return same, f"already silenced until {until} (silence #{same.id}); no new silence"
            stored = await tx.insert_silence(created.silence)
            await tx.add_event(
                created.event.model_copy(
                    update={"details": {**created.event.details, "silence_id": stored.id}}
                )
            )
            muted = actions.apply_silence(stored, await tx.unresolved(), now, actor)
            for t in muted:
                await self._apply(tx, t, now)
        note = f"{created.note} (silence #{stored.id}" + (
            f", muted {len(muted)} open alert{'s' if len(muted) != 1 else ''})" if muted else ")"
        )
        return stored, note

    async def unsilence(self, silence_id: int, actor: Actor) -> str:
        now = self._clock.now()
        await self.require("unsilence", actor, None)
        existing = await self._store.alerts.silence(silence_id)
        if existing is None:
            raise errors.NotFound(f"there is no silence #{silence_id}")
        async with self._store.alerts.transaction() as tx:
            await tx.lock()
            ended, event = actions.unsilence(existing, actor, now)
            await tx.end_silence(silence_id, now, actor.label)
            await tx.add_event(event)
            remaining = [s for s in await tx.active_silences(now) if s.id != silence_id]
            lifted = actions.lift_silence(ended, await tx.unresolved(), remaining, now, actor)
            for t in lifted:
                await self._apply(tx, t, now)
        return f"silence #{silence_id} ended" + (
            f"; {len(lifted)} alert(s) unmuted" if lifted else ""
        )

    async def require(
        self, action: permission.Action, actor: Actor, alert_id: int | None = None
    ) -> None:
        """Raise PermissionDenied, after auditing the refusal, unless `actor` may `action`
        (commands call it before they look anything up)."""
        await self._check_permission(action, alert_id, actor, self._clock.now())

    async def _check_permission(
        self, action: permission.Action, alert_id: int | None, actor: Actor, now: datetime
    ) -> None:
        """Raise PermissionDenied, after auditing the refusal, unless `actor` may `action`.
        Anyone may take back their own acknowledgement. The refusal reads the same whether or
        not alert `alert_id` exists."""
        if permission.permitted(action, actor.ident, self.permissions):
            return
        alert = await self._store.alerts.get(alert_id) if alert_id is not None else None
        if (
            action == "unack"
            and alert is not None
            and actor.ident is not None
            and permission.owner(alert.acknowledged_by) == actor.ident
        ):
            return
        setting = permission.setting(action)
        if actor.ident is None:
            reason = f"{actor.label} has no user id"
            message = "perfbot could not tell who you are (no user id), so nothing was changed"
        else:
            reason = f"{actor.label} is not in permissions.{setting}"
            message = (
                f"you are not allowed to {_VERB[action]} (ask an admin to add "
                f"{actor.ident} to permissions.{setting})"
            )
        async with self._store.alerts.transaction() as audit:
            await audit.add_event(
                transition.event(
                    alert.id if alert is not None else None,
                    "refused",
                    now,
                    actor,
                    attempted=action,
                    reason=reason,
                    **({"alert": alert_id} if alert_id is not None and alert is None else {}),
                )
            )
        logger.warning(
            "action refused",
            extra={
                "action": "action_refused",
                "attempted": action,
                "actor": actor.label,
                "reason": reason,
            },
        )
        raise errors.PermissionDenied(message)

    def route_test(self, query: RouteQuery) -> RouteDecision:
        return self.router.resolve(query)


_VERB: dict[permission.Action, str] = {
    "ack": "acknowledge alerts",
    "unack": "unacknowledge alerts",
    "escalate": "escalate alerts",
    "resolve": "resolve alerts",
    "silence": "silence alerts",
    "silence_all": "silence CRITICAL alerts of every operation",
    "unsilence": "unsilence alerts",
}

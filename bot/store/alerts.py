"""The alerts repository: alerts, their audit trail, silences and message references. Writes that
must happen together (update an alert, append its events, queue its deliveries) go through one
`AlertTx` unit of work bound to a single connection inside a transaction:
`async with store.alerts.transaction() as tx: …`."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from bot import errors
from bot.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    EscalationPlan,
    MessageRef,
    NewAlert,
    NewSilence,
    Severity,
    Silence,
    SilenceMatch,
)
from bot.store.connector import Connector
from bot.store.queries import QUERIES

ALERTS_LOCK_KEY = 0x7065_7266_616C_7274  # "perfalrt"


def alert_from_row(row: Any) -> Alert:
    data = dict(row)
    data["operation_types"] = tuple(data["operation_types"])
    data["notified_channels"] = tuple(data["notified_channels"])
    data["plan"] = EscalationPlan.model_validate(data["plan"])
    data["paged"] = tuple(data.get("paged") or ())
    return Alert.model_validate(data)


def silence_from_row(row: Any) -> Silence:
    data = dict(row)
    data.pop("ended_by", None)
    data["match"] = SilenceMatch.model_validate(data["match"])
    return Silence.model_validate(data)


class AlertTx:
    """Alert writes and reads on one connection (inside the caller's transaction)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def lock_alert(self, alert_id: int) -> Alert:
        row = await self.conn.fetchrow(QUERIES["get_alert_for_update"], alert_id)
        if row is None:
            raise errors.NotFound(f"there is no alert #{alert_id}")
        return alert_from_row(row)

    async def lock(self) -> None:
        """Serialise alert changes with every other writer until this transaction ends."""
        await self.conn.execute(QUERIES["advisory_xact_lock"], ALERTS_LOCK_KEY)

    async def related(self, operations: Sequence[str], fingerprint: str = "") -> list[Alert]:
        """Unresolved alerts naming any of `operations` or with `fingerprint`, locked."""
        rows = await self.conn.fetch(
            QUERIES["unresolved_alerts_touching"], list(operations), fingerprint
        )
        return [alert_from_row(r) for r in rows]

    async def created_since(self, since: datetime, operations: Sequence[str]) -> list[Alert]:
        rows = await self.conn.fetch(
            QUERIES["alerts_created_since_touching"], since, list(operations)
        )
        return [alert_from_row(r) for r in rows]

    async def alerts_by_ids(self, ids: Sequence[int]) -> list[Alert]:
        return [
            alert_from_row(r) for r in await self.conn.fetch(QUERIES["alerts_by_ids"], list(ids))
        ]

    async def insert_alert(self, alert: NewAlert) -> Alert:
        """Store a new alert (its id and version come from the database)."""
        row = await self.conn.fetchrow(
            QUERIES["insert_alert"],
            alert.fingerprint,
            alert.kind.value,
            alert.severity.value,
            alert.status.value,
            list(alert.operation_types),
            alert.bottleneck.value if alert.bottleneck else None,
            alert.title,
            alert.summary,
            alert.details,
            alert.first_seen,
            alert.last_seen,
            alert.occurrences,
            alert.parent_id,
            alert.silence_id,
            alert.plan.model_dump(mode="json"),
            alert.escalation_step,
            alert.next_escalation_at,
            list(alert.notified_channels),
            alert.created_at,
            [p.model_dump(mode="json") for p in alert.paged],
        )
        return alert_from_row(row)

    async def update_alert(self, alert: Alert) -> Alert:
        """Write a new state of an alert (its `version` one above the stored one); raises
        StoreError if someone else changed it first."""
        row = await self.conn.fetchrow(
            QUERIES["update_alert"],
            alert.id,
            alert.version - 1,
            alert.kind.value,
            alert.severity.value,
            alert.status.value,
            list(alert.operation_types),
            alert.bottleneck.value if alert.bottleneck else None,
            alert.title,
            alert.summary,
            alert.details,
            alert.last_seen,
            alert.occurrences,
            alert.acknowledged_by,
            alert.acknowledged_at,
            alert.ack_severity.value if alert.ack_severity else None,
            alert.resolved_at,
            alert.resolved_by,
            alert.parent_id,
            alert.silence_id,
            alert.escalation_step,
            alert.next_escalation_at,
            alert.updated_at,
            alert.plan.model_dump(mode="json"),
            list(alert.notified_channels),
            [p.model_dump(mode="json") for p in alert.paged],
        )
        if row is None:
            raise errors.StoreError(f"alert #{alert.id} changed concurrently; try again")
        return alert_from_row(row)

    async def take_findings(
        self, anomaly_ids: Sequence[int] = (), correlation_ids: Sequence[int] = ()
    ) -> bool:
        """Take pending anomalies and correlations for alerting in this transaction: True when
        every one was still pending (none is once the transaction commits), False when another
        run took them all first. Raises StoreError, rolling back, when it took only some."""
        taken = 0
        if anomaly_ids:
            taken += len(await self.conn.fetch(QUERIES["take_anomalies"], list(anomaly_ids)))
        if correlation_ids:
            rows = await self.conn.fetch(QUERIES["take_correlations"], list(correlation_ids))
            taken += len(rows)
        if taken == len(anomaly_ids) + len(correlation_ids):
            return True
        if taken == 0:
            return False
        raise errors.StoreError("detections were taken concurrently; try again")

    async def link_findings(
        self, alert_id: int, anomaly_ids: Sequence[int] = (), correlation_ids: Sequence[int] = ()
    ) -> None:
        """Record that these anomalies and correlations belong to alert `alert_id`."""
        if anomaly_ids:
            await self.conn.execute(QUERIES["link_anomalies"], list(anomaly_ids), alert_id)
        if correlation_ids:
            await self.conn.execute(QUERIES["link_correlations"], list(correlation_ids), alert_id)

    async def add_event(self, event: AlertEvent) -> int:
        event_id: int = await self.conn.fetchval(
            QUERIES["insert_alert_event"],
            event.alert_id,
            event.at,
            event.actor,
            event.source.value,
            event.action,
            event.details,
        )
        return event_id

    async def enqueue(
        self,
        alert_id: int,
        channel: str,
        event: str,
        severity: Severity,
        *,
        now: datetime,
        max_attempts: int,
        mention: Sequence[str] = (),
        is_fallback: bool = False,
        fallback_of: int | None = None,
    ) -> int:
        """Queue one message to one channel; returns the delivery id."""
        row = await self.conn.fetchrow(
            QUERIES["enqueue_delivery"],
            alert_id,
            channel,
            event,
            severity.value,
            max_attempts,
            now,
            is_fallback,
            fallback_of,
            list(mention),
        )
        return int(row["id"])

    async def last_event(self, alert_id: int, action: str) -> AlertEvent | None:
        """The alert's latest audit event of `action`, if any."""
        row = await self.conn.fetchrow(QUERIES["last_alert_event"], alert_id, action)
        return AlertEvent.model_validate(dict(row)) if row else None

    async def children(self, parent_id: int) -> list[Alert]:
        return [
            alert_from_row(r) for r in await self.conn.fetch(QUERIES["child_alerts"], parent_id)
        ]

    async def unresolved(self) -> list[Alert]:
        return [alert_from_row(r) for r in await self.conn.fetch(QUERIES["unresolved_alerts"])]

    async def active_silences(self, now: datetime) -> list[Silence]:
        return [silence_from_row(r) for r in await self.conn.fetch(QUERIES["active_silences"], now)]

    async def insert_silence(self, silence: NewSilence) -> Silence:
        row = await self.conn.fetchrow(
            QUERIES["insert_silence"],
            silence.match.model_dump(mode="json", exclude_none=True),
            silence.reason,
            silence.created_by,
            silence.source.value,
            silence.created_at,
            silence.expires_at,
        )
        return silence_from_row(row)

    async def end_silence(self, silence_id: int, now: datetime, by: str) -> Silence | None:
        row = await self.conn.fetchrow(QUERIES["end_silence"], silence_id, now, by)
        return silence_from_row(row) if row else None


class AlertRepository:
    """Alerts, events, silences and message references over one connector."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AlertTx]:
        """One connection, one transaction: commit on success, roll back on any error."""
        async with self._db.transaction() as conn:
            yield AlertTx(conn)

    async def get(self, alert_id: int) -> Alert | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(QUERIES["get_alert"], alert_id)
        return alert_from_row(row) if row else None

    async def with_status(self, statuses: Sequence[AlertStatus], limit: int = 50) -> list[Alert]:
        """Alerts whose status is one of `statuses`, most recently seen first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["list_alerts"], [s.value for s in statuses], limit)
        return [alert_from_row(r) for r in rows]

    async def counts(self) -> dict[tuple[AlertStatus, Severity], int]:
        """How many unresolved (open or acknowledged) alerts there are, by status and severity;
        missing pairs are zero."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["alert_counts"])
        return {(AlertStatus(r["status"]), Severity(r["severity"])): r["n"] for r in rows}

    async def snapshot(self, ids: Sequence[int]) -> dict[int, Alert]:
        """The current state of the given alerts, by id (no locks)."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["alerts_by_id_nolock"], list(ids))
        return {r["id"]: alert_from_row(r) for r in rows}

    async def events(self, alert_id: int) -> list[AlertEvent]:
        """The audit trail of one alert, oldest first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["alert_events"], alert_id)
        return [AlertEvent.model_validate(dict(r)) for r in rows]

    async def active_silences(self, now: datetime) -> list[Silence]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["active_silences"], now)
        return [silence_from_row(r) for r in rows]

    async def silence(self, silence_id: int) -> Silence | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(QUERIES["get_silence"], silence_id)
        return silence_from_row(row) if row else None

    async def message_refs(self, alert_ids: Sequence[int]) -> dict[tuple[int, str], MessageRef]:
        """Every stored message reference of the given alerts, by (alert id, channel)."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["message_refs"], list(alert_ids))
        return {(r["alert_id"], r["channel"]): r["ref"] for r in rows}

    async def save_message_ref(
        self, alert_id: int, channel: str, ref: MessageRef, now: datetime
    ) -> None:
        async with self._db.connection() as conn:
            await conn.execute(QUERIES["save_message_ref"], alert_id, channel, ref, now)

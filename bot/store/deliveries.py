"""The deliveries repository, the outbox in PostgreSQL: workers claim due rows with
`FOR UPDATE SKIP LOCKED` under a lease, so replicas share the work and a crash loses nothing (an
expired lease makes the row claimable again); `LISTEN perfbot_deliveries` wakes workers the
moment a row is queued. Rows are queued by `AlertTx.enqueue`, inside the alert's transaction.

Leases run on the database's clock (`now()`), one clock for every replica. Each outcome write
(`sent`, `retry`, `defer`, `dead`) takes the `Claim` it acts under and changes the row only while
that claim still holds (same worker, same attempt, still `sending`); it returns False when the
claim was lost, i.e. the lease expired and another claimant (or a later claim of the same
worker) owns the row, whose outcome then stands."""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bot import errors
from bot.models import Delivery
from bot.store.connector import DISCONNECTED, REFUSED, Connector
from bot.store.pool import CONNECT_TIMEOUT_S
from bot.store.queries import QUERIES

CHANNEL = "perfbot_deliveries"  # the LISTEN channel: a constant, never user input


def delivery_from_row(row: Any) -> Delivery:
    data = dict(row)
    for key in ("claimed_by", "claimed_until", "fallback_of"):
        data.pop(key, None)
    data["mention"] = tuple(data["mention"])
    return Delivery.model_validate(data)


@dataclass(frozen=True)
class Claim:
    """Worker `worker`'s claim on delivery `delivery_id`, made as its attempt number `attempt`
    (the claimed row's `attempts`)."""

    delivery_id: int
    worker: str
    attempt: int

    @classmethod
    def of(cls, delivery: Delivery, worker: str) -> "Claim":
        """The claim `worker` holds on `delivery` as `claim` returned it."""
        return cls(delivery.id, worker, delivery.attempts)


def _updated(status: str) -> bool:
    """Whether an UPDATE's status tag (`UPDATE n`) says a row changed."""
    return int(status.split()[-1]) > 0


@dataclass(frozen=True)
class QueueStats:
    pending: int
    sending: int
    dead: int
    oldest_s: float | None


class DeliveryRepository:
    """The outbox over one connector: queued by `AlertTx.enqueue`, drained by the worker."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector

    async def claim(
        self, worker: str, now: datetime, limit: int, lease: timedelta
    ) -> list[Delivery]:
        """Claim up to `limit` deliveries due at `now` (the bot's clock) for `worker`, each for
        `lease` from the database's now(); expired leases (database clock) are retaken."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["claim_deliveries"], worker, now, limit, lease)
        return [delivery_from_row(r) for r in rows]

    async def sent(self, claim: Claim, now: datetime, status: int | None) -> bool:
        """Mark it sent; False (nothing changed) when `claim` no longer holds."""
        async with self._db.connection() as conn:
            tag = await conn.execute(
                QUERIES["delivery_sent"],
                claim.delivery_id,
                now,
                status,
                claim.worker,
                claim.attempt,
            )
        return _updated(tag)

    async def retry(self, claim: Claim, at: datetime, error: str, status: int | None) -> bool:
        """Back to pending until `at`; False (nothing changed) when `claim` no longer holds."""
        async with self._db.connection() as conn:
            tag = await conn.execute(
                QUERIES["delivery_retry"],
                claim.delivery_id,
                at,
                error[:2000],
                status,
                claim.worker,
                claim.attempt,
            )
        return _updated(tag)

    async def defer(self, claim: Claim, at: datetime, reason: str | None) -> bool:
        """Back to pending until `at` without using up an attempt; False (nothing changed) when
        `claim` no longer holds."""
        async with self._db.connection() as conn:
            tag = await conn.execute(
                QUERIES["delivery_defer"],
                claim.delivery_id,
                at,
                reason,
                claim.worker,
                claim.attempt,
            )
        return _updated(tag)

    async def has_fallback(self, delivery_id: int) -> bool:
        async with self._db.connection() as conn:
            found: bool = await conn.fetchval(QUERIES["has_fallback"], delivery_id)
        return found

    async def dead(self, claim: Claim, error: str, status: int | None) -> bool:
        """Never to be tried again; False (nothing changed) when `claim` no longer holds."""
        async with self._db.connection() as conn:
            tag = await conn.execute(
                QUERIES["delivery_dead"],
                claim.delivery_id,
                error[:2000],
                status,
                claim.worker,
                claim.attempt,
            )
        return _updated(tag)

    async def release(self, worker: str) -> int:
        """Hand back `worker`'s unsent claims (graceful shutdown); returns how many."""
        async with self._db.connection() as conn:
            status = await conn.execute(QUERIES["release_deliveries"], worker)
        return int(status.split()[-1])

    async def next_due(self, now: datetime) -> datetime | None:
        """When the next delivery falls due (or a lease expires), on the clock `now` is from."""
        async with self._db.connection() as conn:
            due: datetime | None = await conn.fetchval(QUERIES["next_delivery_due"], now)
        return due

    async def stats(self, now: datetime) -> QueueStats:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(QUERIES["delivery_queue_stats"], now)
        assert row is not None
        oldest = row["oldest_s"]
        return QueueStats(
            row["pending"],
            row["sending"],
            row["dead"],
            float(oldest) if oldest is not None else None,
        )

    async def listen(self, on_notify: Callable[[], None]) -> "DeliveryListener":
        """Call `on_notify` whenever a delivery is queued, until the listener is closed."""
        pool = self._db.pool
        try:
            conn = await pool.acquire(timeout=CONNECT_TIMEOUT_S)
            listener = DeliveryListener(pool, conn, on_notify)
            await conn.add_listener(CHANNEL, listener.callback)
        except (*DISCONNECTED, *REFUSED) as exc:
            raise errors.DatabaseUnavailable(f"cannot listen for deliveries: {exc}") from exc
        return listener

    async def for_alert(self, alert_id: int) -> list[Delivery]:
        """Every delivery of one alert, whatever its status."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["deliveries_for_alert"], alert_id)
        return [delivery_from_row(r) for r in rows]


class DeliveryListener:
    """A pooled connection held for LISTEN; `close()` stops listening and returns it."""

    def __init__(self, pool: "asyncpg.Pool[Any]", conn: Any, on_notify: Callable[[], None]) -> None:
        self._pool = pool
        self._conn = conn
        self._on_notify = on_notify

    def callback(self, *_: object) -> None:
        self._on_notify()

    def is_alive(self) -> bool:
        """False once the server dropped the connection (the pool may have reclaimed it)."""
        try:
            return not self._conn.is_closed()
        except asyncpg.InterfaceError:
            return False

    async def close(self) -> None:
        """Stop listening; safe to call on a connection the server already dropped."""
        # A connection the server dropped cannot unlisten; releasing it discards it.
        gone = (OSError, asyncpg.InterfaceError, asyncpg.PostgresError)
        with contextlib.suppress(*gone):
            if not self._conn.is_closed():
                await self._conn.remove_listener(CHANNEL, self.callback)
        with contextlib.suppress(*gone):
            await self._pool.release(self._conn)

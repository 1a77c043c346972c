"""The operations repository: the known operation names (`perfbot.operations`) behind the
cardinality caps of `OperationLimits`.

A name is admitted before any row of it is stored (API, CSV) or rolled up (rows read from a
source table), in the same transaction, under `OPERATIONS_LOCK_KEY`: replicas admitting at the
same moment see each other's names, so the caps hold across them. Batches whose names are all
known never take the lock (one indexed lookup). Input that brings new names past a cap is
refused whole (the caller says which item or line); source rows of such names, or of names
outside the character set, are skipped by the refresh and counted in
`perfbot.skipped_source_rows` (shown in /metrics)."""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from bot.models import OPERATION_NAME_PATTERN, Admission, OperationLimits, admission
from bot.models.operations import OPERATION_NAME_RE, operation_name_problem
from bot.store.connector import Connector
from bot.store.queries import QUERIES

OPERATIONS_LOCK_KEY = 0x7065_7266_6F70_6572  # "perfoper"
INVALID_NAME = "invalid_name"
OPERATION_CAP = "operation_cap"
WARN_EVERY_S = 60.0  # refusals are logged at most this often per cap (plus a count of the rest)

logger = logging.getLogger(__name__)

Conn: TypeAlias = "asyncpg.pool.PoolConnectionProxy[Any]"


@dataclass(frozen=True)
class Refused:
    """New names that did not fit (input order, the first that did not fit first)."""

    names: list[str]
    admission: Admission

    @property
    def reason(self) -> str:
        return self.admission.refusal(self.names)


@dataclass
class SourceSkips:
    """Source rows a refresh skipped: rows counted by reason, and a few names of each (as
    `ascii()` text: invalid names may hold anything)."""

    rows: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    cap: Admission | None = None

    def add(self, reason: str, name: str, rows: int) -> None:
        if rows <= 0:
            return
        self.rows[reason] = self.rows.get(reason, 0) + rows
        sample = self.samples.setdefault(reason, [])
        if len(sample) < 3:
            sample.append(ascii(name))


class _Throttle:
    """Lets a warning through at most every WARN_EVERY_S per key and counts what it held back."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str) -> int | None:
        """None to stay quiet; else how many were held back since the last one let through."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < WARN_EVERY_S:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._held.pop(key, 0)


class OperationRepository:
    """Known operations over one connector, with the caps to admit new ones by."""

    def __init__(self, connector: Connector, limits: OperationLimits | None = None) -> None:
        self._db = connector
        self.limits = limits or OperationLimits()
        self._throttle = _Throttle()

    async def snapshot(self) -> tuple[frozenset[str], Admission]:
        """Every known name and the room for new ones now, for streaming checks (a CSV);
        `admit` decides again, under the lock, before anything is stored."""
        async with self._db.connection() as conn:
            names = frozenset(r["name"] for r in await conn.fetch(QUERIES["all_operation_names"]))
            counts = await conn.fetchrow(QUERIES["operation_counts"])
        assert counts is not None
        return names, admission(self.limits, counts["known"], counts["new_last_hour"])

    async def admit(self, conn: Conn, names: Sequence[str], *, via: str) -> Refused | None:
        """Admit the names (distinct, in input order) that are not known yet, all or none, in
        the caller's transaction; the refusal (logged as a WARNING) when they do not fit."""
        if not names:
            return None
        unknown = await _unknown(conn, names)
        if not unknown:
            return None
        await conn.execute(QUERIES["advisory_xact_lock"], OPERATIONS_LOCK_KEY)
        unknown = await _unknown(conn, unknown)  # another replica may have admitted some
        room = await self._room(conn)
        if len(unknown) > room.room:
            refused = Refused(unknown[room.room :], room)
            self._warn_refused(refused, via)
            return refused
        if unknown:
            await conn.execute(QUERIES["add_operations"], unknown)
        return None

    async def admit_source(
        self, conn: Conn, start: datetime, end: datetime, fresh_from: datetime, skips: SourceSkips
    ) -> None:
        """Before rolling up [start, end) of the source: admit its new valid names while they
        fit (busiest first) and count the rows the build will skip (invalid or capped names;
        rows before `fresh_from` were counted by an earlier refresh) into `skips`."""
        rows = await conn.fetch(
            QUERIES["unknown_source_operations"], start, end, fresh_from, OPERATION_NAME_PATTERN
        )
        if not rows:
            return
        candidates = []
        for r in rows:
            if r["valid"]:
                candidates.append(r)
            else:
                skips.add(INVALID_NAME, r["name"], r["fresh"])
        if not candidates:
            return
        await conn.execute(QUERIES["advisory_xact_lock"], OPERATIONS_LOCK_KEY)
        room = await self._room(conn)
        admitted = [r["name"] for r in candidates[: room.room]]
        for r in candidates[room.room :]:
            skips.add(OPERATION_CAP, r["name"], r["fresh"])
            skips.cap = room
        if admitted:
            await conn.execute(QUERIES["add_operations"], admitted)

    async def record_skips(self, skips: SourceSkips) -> None:
        """Add a refresh's skipped rows to the totals and log them once (a WARNING)."""
        if not skips.rows:
            return
        async with self._db.transaction() as conn:
            for reason, n in sorted(skips.rows.items()):
                await conn.execute(QUERIES["add_skipped_source_rows"], reason, n)
        cap = skips.cap
        logger.warning(
            "source rows skipped: operation names outside the character set or new past a cap",
            extra={
                "action": "source_rows_skipped",
                "rows": skips.rows,
                "examples": skips.samples,
                "cap": f"detection.{cap.cap}={cap.limit}" if cap else None,
            },
        )

    async def skipped(self) -> dict[str, int]:
        """Source rows skipped so far, by reason (both reasons always present)."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["skipped_source_rows"])
        return {INVALID_NAME: 0, OPERATION_CAP: 0} | {r["reason"]: r["rows"] for r in rows}

    async def named(self, name: str) -> str | None:
        """The known operation `name`, matched exactly, else case-insensitively (None for a
        name outside the operation-name character set: no operation has it, and text such as
        a NUL byte must not reach the database)."""
        if operation_name_problem(name) is not None:
            return None
        async with self._db.connection() as conn:
            found: str | None = await conn.fetchval(QUERIES["operation_named"], name)
        return found

    async def with_prefix(self, prefix: str, limit: int) -> list[str]:
        """Up to `limit` known names starting with `prefix` (case-insensitively), by name; the
        prefix is cut at its first character outside the operation-name character set."""
        prefix = _valid_start(prefix)
        if not prefix:
            return []
        escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["operations_with_prefix"], escaped, limit)
        return [r["name"] for r in rows]

    async def first(self, limit: int) -> list[str]:
        """The first `limit` known names, by name."""
        async with self._db.connection() as conn:
            return [r["name"] for r in await conn.fetch(QUERIES["operations_by_name"], limit)]

    async def counts(self) -> tuple[int, int]:
        """(known operations, first seen in the last hour)."""
        async with self._db.connection() as conn:
            row = await conn.fetchrow(QUERIES["operation_counts"])
        assert row is not None
        return row["known"], row["new_last_hour"]

    async def prune(self, before: datetime) -> int:
        """Forget operations first seen before `before` that have no hourly rollups left."""
        async with self._db.connection() as conn:
            status = await conn.execute(QUERIES["delete_idle_operations"], before)
        return int(status.split()[-1])

    async def _room(self, conn: Conn) -> Admission:
        counts = await conn.fetchrow(QUERIES["operation_counts"])
        assert counts is not None
        return admission(self.limits, counts["known"], counts["new_last_hour"])

    def _warn_refused(self, refused: Refused, via: str) -> None:
        held = self._throttle.allow(refused.admission.cap)
        if held is None:
            return
        logger.warning(
            "new operations refused",
            extra={
                "action": "operations_refused",
                "via": via,
                "cap": f"detection.{refused.admission.cap}={refused.admission.limit}",
                "refused": len(refused.names),
                "examples": refused.names[:3],
                "refusals_not_logged": held,
            },
        )


async def _unknown(conn: Conn, names: Sequence[str]) -> list[str]:
    """The names (in their order) that are not known operations."""
    known = {r["name"] for r in await conn.fetch(QUERIES["known_operation_names"], list(names))}
    return [n for n in names if n not in known]


def _valid_start(text: str) -> str:
    """The longest start of `text` made of operation-name characters."""
    for i, char in enumerate(text):
        if not OPERATION_NAME_RE.match(char):
            return text[:i]
    return text

"""The shard claims repository: replicas share detection by claiming (job, slot, shard) units
with a lease in database time. A unit is claimed when it is new, or when its owner's lease ran
out before it was done (a dead replica's work is taken over); a done unit is never claimed
again. Shard -1 of a slot is its merge step (alerting over every shard's anomalies). Who scored
a unit's window (`scored_by`, `scored_from`, `scored_to`) is written with the scoring's commit,
so the record is exact even when the scorer dies before marking the unit done."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.store.connector import Connector
from bot.store.queries import QUERIES

MERGE_SHARD = -1


@dataclass(frozen=True)
class ShardScore:
    """Owner `owner` scored [start, end) of `shard` of (job, slot): recorded in the transaction
    that commits the scoring (`FindingsRepository.commit_cycle`)."""

    job: str
    slot: datetime
    shard: int
    owner: str
    start: datetime
    end: datetime

    async def record(self, conn: Any) -> None:
        """On `conn`, inside the caller's transaction."""
        await conn.execute(
            QUERIES["record_shard_score"],
            self.job,
            self.slot,
            self.shard,
            self.owner,
            self.start,
            self.end,
        )


class ShardClaimRepository:
    def __init__(self, connector: Connector) -> None:
        self._db = connector

    async def claim(
        self, job: str, slot: datetime, shard: int, owner: str, lease: timedelta
    ) -> bool:
        """Whether `owner` now holds `shard` of (job, slot) until the database's now() + lease."""
        async with self._db.connection() as conn:
            got = await conn.fetchval(
                QUERIES["claim_shard"], job, slot, shard, owner, lease.total_seconds()
            )
        return got is not None

    async def finish(self, job: str, slot: datetime, shard: int, owner: str) -> bool:
        """Mark the unit done; False when `owner` neither holds it nor scored it. (The window
        scored and its scorer are recorded with the scoring's commit: `ShardScore`.)"""
        async with self._db.connection() as conn:
            got = await conn.fetchval(QUERIES["finish_shard"], job, slot, shard, owner)
        return got is not None

    async def done(self, job: str, slot: datetime) -> int:
        """How many shards (not counting the merge step) of (job, slot) are done."""
        async with self._db.connection() as conn:
            n: int = await conn.fetchval(QUERIES["count_done_shards"], job, slot)
        return n

    async def delete_before(self, slot: datetime) -> None:
        async with self._db.connection() as conn:
            await conn.execute(QUERIES["delete_shard_claims_before"], slot)

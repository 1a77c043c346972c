"""Replicas share detection work, with PostgreSQL as the only coordinator.

Operations hash into `detection.shards` shards (a stable hash: CRC-32 of the name, the same in
every process). Each detection cycle is keyed by its window end (the newest complete minute);
every replica walks the shards, starting at a place of its own, and claims each (detect, end,
shard) unit with a lease (`bot.store.shards`). A claimed shard is scored like a whole cycle is
without shards: from the shard's own watermark (`detect:<shard>`) to the end, its anomalies and
new watermark committed in one transaction, so a minute of an operation is scored once even
when a lease runs out mid-way and another replica takes the shard over. A shard whose owner died
is taken over by whoever asks after its lease; one nobody took over in its cycle catches up
from its watermark in the next. The merge step (shard -1: alerting over every shard's
anomalies, so one alert groups all degraded operations) is claimed by the replica that sees
every shard of the cycle done; the correlation job reads degraded operations from the database
and so always sees every shard's."""

import logging
import zlib
from datetime import datetime, timedelta
from typing import Protocol

from bot.alerts import AlertService
from bot.config import Settings
from bot.models import Anomaly
from bot.scoring import MAX_CATCH_UP, Scorer
from bot.store import Store
from bot.store.rollups import MINUTE, floor_to
from bot.store.shards import MERGE_SHARD, ShardScore


class Jobs(Protocol):
    """What the shard cycle uses of `bot.jobs.Jobs` (named here: no import cycle)."""

    @property
    def store(self) -> Store: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def owner(self) -> str: ...
    @property
    def alerts(self) -> AlertService: ...
    @property
    def scorer(self) -> Scorer: ...
    async def refresh(self, now: datetime) -> None: ...
    async def baselines(
        self, now: datetime, *, force: bool = False, reason: str = "scheduled"
    ) -> int: ...


logger = logging.getLogger(__name__)

JOB = "detect"
CLAIMS_KEPT = timedelta(days=1)  # the merge step deletes older claims (indexed by slot)


def shard_of(operation: str, shards: int) -> int:
    """The shard of `operation`: stable across processes and restarts (not `hash()`)."""
    return zlib.crc32(operation.encode("utf-8")) % shards


def watermark_name(shard: int) -> str:
    return f"{JOB}:{shard}"


def walk_order(owner: str, shards: int) -> list[int]:
    """Every shard once, starting at one that depends on `owner`, so that replicas starting at
    the same moment mostly claim different shards first."""
    first = shard_of(owner, shards)
    return [(first + i) % shards for i in range(shards)]


async def detect_shards(jobs: Jobs, now: datetime, *, alert: bool) -> list[Anomaly]:
    """Claim and score every shard of this cycle that is free; then the merge step when every
    shard is done. Returns the anomalies this replica stored."""
    s = jobs.settings.detection
    store = jobs.store
    end = floor_to(now - s.settle, MINUTE)
    await jobs.refresh(now)
    stored: list[Anomaly] = []
    scored = 0
    for shard in walk_order(jobs.owner, s.shards):
        if not await store.shards.claim(JOB, end, shard, jobs.owner, s.shard_lease):
            continue
        found = await _score_shard(jobs, shard, end, now)
        stored.extend(found)
        scored += 1
        if not await store.shards.finish(JOB, end, shard, jobs.owner):
            logger.warning(
                "shard lease lost before it was marked done",
                extra={"action": "shard_lease_lost", "shard": shard, "slot": end.isoformat()},
            )
    logger.info(
        "detection shards",
        extra={
            "action": "detect_shards",
            "slot": f"{end:%H:%M}",
            "shards": scored,
            "anomalies": len(stored),
        },
    )
    if (
        alert
        and await store.shards.done(JOB, end) >= s.shards
        and await store.shards.claim(JOB, end, MERGE_SHARD, jobs.owner, s.shard_lease)
    ):
        await jobs.alerts.process_pending(now)
        await store.shards.finish(JOB, end, MERGE_SHARD, jobs.owner)
        await store.shards.delete_before(end - CLAIMS_KEPT)
    return stored


async def _score_shard(jobs: Jobs, shard: int, end: datetime, now: datetime) -> list[Anomaly]:
    """Score one shard from its watermark to `end` (nothing when no minute is left); commit its
    anomalies with the new watermark and the record of who scored which window."""
    s = jobs.settings
    store = jobs.store
    name = watermark_name(shard)
    mark = await store.jobs.watermark(name)
    start = max(mark or end - s.detection.interval, end - MAX_CATCH_UP)
    start = min(floor_to(start, MINUTE), end)
    if start >= end:
        return []
    active = await store.findings.active_baselines()
    if not active:
        await jobs.baselines(now, reason="first")
        active = await store.findings.active_baselines()
    shards = s.detection.shards

    def mine(op: str) -> bool:
        return shard_of(op, shards) == shard

    # traffic of this shard's operations; the whole source's silence in shard 0 only
    found, _, _ = await jobs.scorer.find(start, end, active, mine, source=shard == 0)
    record = ShardScore(JOB, end, shard, jobs.owner, start, end)
    stored = await store.findings.commit_cycle(found, name, mark, end, record)
    if stored is None:
        logger.warning(
            "shard cycle superseded",
            extra={"action": "detect_superseded", "shard": shard, "slot": end.isoformat()},
        )
        return []
    return stored

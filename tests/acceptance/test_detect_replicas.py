"""Three `perfbot run` replicas share detection by shards on one database (issue 16): 300
operations in 6 shards, 8 operations of each shard spiking in every scored minute, so that
each (slot, shard) scored stores exactly one spike anomaly for each of them. The replicas read a stepped clock
from a file (`perfbot run --clock-file`): the test moves it one minute at a time and waits, on
the database, for every shard and the merge step of that slot to be done; detection fires every
second of wall time, so no step waits on the wall clock. After some cycles one replica is
SIGKILLed while it holds shard leases (stopped first, so the claims it holds are known); the
other two take its shards over once its lease (3 s of database time) ends, and more cycles
follow. Checked: each (slot, shard) was scored exactly once, over exactly its minute, its scorer
recorded (so each (slot, operation) by the scorer of its shard); each (slot, spiking operation)
has exactly one spike anomaly; every replica took a share; the killed replica's shards were
claimed again after its lease."""

import asyncio
import contextlib
import functools
import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.alerts import AlertService
from bot.clock import FileClock, FrozenClock
from bot.config import Settings
from bot.jobs import Jobs
from bot.models import OperationLimits
from bot.sharding import JOB, shard_of
from bot.store import Store
from tests.acceptance.harness import PerfbotProcess
from tests.factories import latency_history
from tests.polling import eventually

OPERATIONS = [f"svc{i // 30}.endpoint_{i}" for i in range(300)]
SHARDS = 6  # each shard reads the whole window: more shards cost more CPU per slot
REPLICAS = ("replica-a", "replica-b", "replica-c")
VICTIM = "replica-c"
# In every shard, its first 8 operations spike in every scored minute: each (slot, shard) then
# stores one spike anomaly per spiking operation, a check of the claims' record that does not
# make the test's alerting (300 new alerts a minute) cost more than its detection.
SPIKING = {
    op
    for shard in range(SHARDS)
    for op in [o for o in OPERATIONS if shard_of(o, SHARDS) == shard][:8]
}
MINUTE = timedelta(minutes=1)
# The first spiking minute; slot k (its window end, the clock at 20 s past it) scores the minute
# before it: slot 0 a quiet minute, slots 1.. spiking ones.
SPIKE = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CYCLES_BEFORE = 3  # slots 0..3 with three replicas
KILL_TRIES = 4  # slots in which to catch the victim holding a lease
CYCLES_AFTER = 2  # slots after the takeover
LAST_SPIKE = CYCLES_BEFORE + KILL_TRIES + CYCLES_AFTER
SLOT_WITHIN_S = 45.0  # a slot's shards and merge step done (a takeover waits for the lease)


def slot(k: int) -> datetime:
    return SPIKE + k * MINUTE


def config() -> dict[str, Any]:
    return {
        "detection": {
            "interval": "1s",
            "settle": "5s",
            "shards": SHARDS,
            "shard_lease": "3s",
            # the threshold rule alone decides with the z-score detector: every minute that has
            # a request far above its baseline's p99 is a spike, whatever came before it
            "detector": "zscore",
        },
        "correlation": {"interval": "1h"},
        "baselines": {"cron": "0 0 1 1 *"},  # computed once by the test, not again meanwhile
        "routes": [{"name": "quiet", "notify": []}],  # alerts are made, not sent
    }


async def seed(store: Store, settings: Settings) -> None:
    """An hour of quiet history of every operation, then every minute from SPIKE on ×40 (the
    rollups reach a minute only once the replicas' clock passes it); baselines from the quiet
    hour."""
    loader = Store(store.connector, OperationLimits(max_new_operations_per_hour=1000))
    rows = []
    for i, op in enumerate(OPERATIONS):
        rows.extend(
            latency_history(
                op,
                SPIKE - 60 * MINUTE,
                SPIKE + (LAST_SPIKE + 2) * MINUTE,
                median_ms=5.0 + i % 7,
                per_minute=5,
                seed=i,
                factor=(lambda t: 40.0 if t >= SPIKE else 1.0) if op in SPIKING else None,
            )
        )
    await loader.metrics.add(rows)
    jobs = Jobs(store, settings, AlertService(store, settings, FrozenClock(SPIKE)), owner="test")
    await jobs.refresh(SPIKE)
    await jobs.backfill(SPIKE, budget=None)  # the quiet hour, left to the back-fill
    assert await jobs.baselines(SPIKE, reason="first") == len(OPERATIONS)


async def fetch(store: Store, sql: str, *args: object) -> list[dict[str, Any]]:
    async with store.connector.pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


async def slot_done(store: Store, at: datetime) -> bool:
    rows = await fetch(
        store,
        "SELECT count(*) FILTER (WHERE shard >= 0) AS shards,"
        " count(*) FILTER (WHERE shard < 0) AS merged"
        " FROM perfbot.shard_claims WHERE job = $1 AND slot = $2 AND done_at IS NOT NULL",
        JOB,
        at,
    )
    return bool(rows[0]["shards"] == SHARDS and rows[0]["merged"] == 1)


async def held_by(store: Store, owner: str, at: datetime) -> set[int]:
    rows = await fetch(
        store,
        "SELECT shard FROM perfbot.shard_claims"
        " WHERE job = $1 AND slot = $2 AND owner = $3 AND shard >= 0 AND done_at IS NULL",
        JOB,
        at,
        owner,
    )
    return {r["shard"] for r in rows}


def stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP took effect): state T in /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] in "Tt"


def local_ports(pid: int) -> list[int]:
    """The local TCP ports of the process's sockets (its database connections among them)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = str(fd.readlink())
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def quiet(store: Store, pid: int) -> bool:
    """Whether no statement of the (stopped) process is running on the server: one it sent
    before it stopped could still change its claims."""
    rows = await fetch(
        store,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE client_port = ANY($1::int[])"
        " AND state = 'active'",
        local_ports(pid),
    )
    return bool(rows[0]["n"] == 0)


async def kill_holding_lease(store: Store, victim: PerfbotProcess, at: datetime) -> set[int]:
    """SIGKILL `victim` while it holds unfinished claims of slot `at`; the shards it held (empty
    when the slot was done first). It is stopped, and its statements on the server have ended,
    before its claims are read, so they cannot change between the reading and the kill."""
    assert victim.process is not None
    pid = victim.process.pid

    async def is_stopped() -> bool:
        return stopped(pid)

    async with asyncio.timeout(SLOT_WITHIN_S):
        while not await slot_done(store, at):
            if not await held_by(store, VICTIM, at):
                continue  # polling the database as fast as it answers, to catch a claim
            os.kill(pid, signal.SIGSTOP)
            await eventually(is_stopped, within=10.0, every=0.005)
            try:
                # not quiet within 2 s: its statement may wait on a lock its other connection
                # holds (it is stopped); let it go on and catch it again
                await eventually(lambda: quiet(store, pid), within=2.0, every=0.01)
            except AssertionError:
                os.kill(pid, signal.SIGCONT)
                continue
            held = await held_by(store, VICTIM, at)
            if held:
                await victim.kill()
                return held
            os.kill(pid, signal.SIGCONT)
    return set()


async def test_three_replicas_score_each_operation_of_each_slot_once_across_a_kill(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    settings = config()
    await seed(store, Settings.load(**settings))
    clock = tmp_path / "clock"
    FileClock.write(clock, slot(0) + timedelta(seconds=20))
    bots = [
        PerfbotProcess(db_url, tmp_path, settings, name=n, args=("--clock-file", str(clock)))
        for n in REPLICAS
    ]
    victim = bots[REPLICAS.index(VICTIM)]
    killed_in, held = None, set[int]()
    await asyncio.gather(*(bot.start() for bot in bots))
    try:
        await eventually(lambda: slot_done(store, slot(0)), within=SLOT_WITHIN_S)
        for k in range(1, LAST_SPIKE + 1):
            FileClock.write(clock, slot(k) + timedelta(seconds=20))
            if k > CYCLES_BEFORE and killed_in is None:
                held = await kill_holding_lease(store, victim, slot(k))
                killed_in = k if held else None
            await eventually(functools.partial(slot_done, store, slot(k)), within=SLOT_WITHIN_S)
            if killed_in is None and k == CYCLES_BEFORE + KILL_TRIES:
                raise AssertionError(f"{VICTIM} never caught holding a lease")
        alive = [bot for bot in bots if bot is not victim]
        codes = await asyncio.gather(*(bot.stop() for bot in alive))
    finally:
        for bot in bots:
            if bot.process is not None and bot.process.returncode is None:
                await bot.kill()
    outputs = {bot.config_path.stem: bot.output()[-3000:] for bot in bots}
    assert codes == [0, 0], outputs
    assert killed_in is not None

    claims = await fetch(
        store,
        "SELECT slot, shard, owner, scored_by, scored_from, scored_to, attempts, done_at"
        " FROM perfbot.shard_claims WHERE job = $1 AND shard >= 0 ORDER BY slot, shard",
        JOB,
    )
    slots = [slot(k) for k in range(LAST_SPIKE + 1)]
    # every (slot, shard) done, scored exactly over its own minute, its scorer recorded
    assert [(c["slot"], c["shard"]) for c in claims] == [
        (s, shard) for s in slots for shard in range(SHARDS)
    ]
    bad = [
        c for c in claims if (c["scored_from"], c["scored_to"]) != (c["slot"] - MINUTE, c["slot"])
    ]
    assert bad == [], "a shard's window is not its slot's minute"
    assert all(c["done_at"] is not None and c["scored_by"] in REPLICAS for c in claims)
    scorer = {(c["slot"], c["shard"]): c["scored_by"] for c in claims}

    # every (slot, operation) with a spike scored once: exactly one spike anomaly each
    anomalies = await fetch(
        store,
        "SELECT operation_type, detected_at FROM perfbot.anomalies"
        " WHERE kind IN ('statistical', 'threshold', 'combined')",
    )
    found = Counter((a["operation_type"], a["detected_at"]) for a in anomalies)
    expected = {(op, s) for op in SPIKING for s in slots[1:]}
    assert {key for key, n in found.items() if n > 1} == set(), "a minute was scored twice"
    assert expected - set(found) == set(), "a (slot, operation) was not scored"

    # who scored each (slot, operation): every replica took a share before the kill, the
    # survivors after it
    per_op = Counter(scorer[s, shard_of(op, SHARDS)] for op in OPERATIONS for s in slots)
    before = Counter(scorer[s, shard] for s in slots[1:killed_in] for shard in range(SHARDS))
    after = Counter(scorer[s, shard] for s in slots[killed_in + 1 :] for shard in range(SHARDS))
    print(
        f"\nreplicas: {len(slots)} slots x {len(OPERATIONS)} operations scored once each "
        f"(by replica: {dict(per_op)}); {VICTIM} killed in slot {killed_in} holding shards "
        f"{sorted(held)}; shards before {dict(before)}, after {dict(after)}; "
        f"{time.monotonic() - began:.0f} s"
    )
    assert set(before) == set(REPLICAS), before
    assert set(after) == set(REPLICAS) - {VICTIM}, after

    # the shards the victim held were claimed again once its lease ran out, and done
    taken = [c for c in claims if c["slot"] == slot(killed_in) and c["shard"] in held]
    assert len(taken) == len(held)
    assert all(c["done_at"] is not None for c in taken)
    assert all(c["attempts"] >= 2 and c["owner"] != VICTIM for c in taken), taken
    runs = await fetch(store, "SELECT job, status FROM perfbot.job_runs WHERE status = 'failed'")
    assert runs == [], runs

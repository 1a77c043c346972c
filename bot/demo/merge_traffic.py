"""Synthetic pgGit merges: which branches merge into which, how often they conflict, how the
conflicts end and how long each phase takes.

A few branch pairs are conflict hot spots (long-lived feature branches into `develop`, `develop`
into `main`); elsewhere conflicts are rare. Conflicting merges mostly auto-resolve; the rest need
a person (PARTIAL_SUCCESS) or fail. Phase times grow with the number of conflicts, and a
merge-pipeline incident slows every phase by its factor."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.demo.incidents import Incident, IncidentKind
from bot.models import MergeRecord, MergeStatus

BRANCH_PAIRS: tuple[tuple[str, str, float], ...] = (
    # (source, target, conflict probability)
    ("feature/payments", "develop", 0.45),
    ("develop", "main", 0.30),
    ("feature/search", "develop", 0.08),
    ("feature/ui", "develop", 0.05),
    ("hotfix/login", "main", 0.05),
    ("release/2.4", "main", 0.10),
    ("main", "develop", 0.03),
    ("feature/reports", "develop", 0.04),
)
USERS = ("alice", "bob", "carol", "dave")


def merges_for_hour(
    rng: np.random.Generator,
    hour_start_s: int,
    per_hour: float,
    incidents: Sequence[Incident],
) -> list[MergeRecord]:
    """The merges started in the hour beginning at `hour_start_s` (epoch seconds), oldest
    first, drawn from `rng`."""
    count = int(rng.poisson(per_hour))
    starts = np.sort(hour_start_s + rng.uniform(0, 3600, count))
    pairs = rng.integers(0, len(BRANCH_PAIRS), count)
    records: list[MergeRecord] = []
    for at, pair in zip(starts, pairs, strict=True):
        source, target, p_conflict = BRANCH_PAIRS[int(pair)]
        conflicts = int(rng.poisson(3) + 1) if rng.random() < p_conflict else 0
        auto = int(rng.binomial(conflicts, 0.75)) if conflicts else 0
        slow = _slowdown(incidents, float(at))
        base = 8.0 * float(np.exp(0.35 * rng.standard_normal())) * slow
        detect = 20.0 * (1 + 0.3 * conflicts) * float(np.exp(0.35 * rng.standard_normal())) * slow
        resolve = 15.0 * auto * float(np.exp(0.45 * rng.standard_normal())) * slow
        total = base + detect + resolve + 5.0 * float(np.exp(0.3 * rng.standard_normal()))
        status = _status(rng, conflicts, auto)
        started = datetime.fromtimestamp(float(at), UTC)
        record = MergeRecord(
            source_branch=source,
            target_branch=target,
            status=status,
            strategy="UNION",
            conflicts=conflicts,
            auto_resolved=auto,
            auto_failed=conflicts - auto,
            base_find_ms=base,
            conflict_detect_ms=detect,
            auto_resolve_ms=resolve if conflicts else None,
            total_ms=total,
            started_at=started,
            completed_at=started + timedelta(milliseconds=total),
            user_name=USERS[int(rng.integers(0, len(USERS)))],
        )
        records.append(record)
    return records


def _status(rng: np.random.Generator, conflicts: int, auto: int) -> MergeStatus:
    roll = rng.random()
    if roll < 0.02:
        return MergeStatus.ABANDONED
    if roll < 0.05:
        return MergeStatus.FAILED
    if conflicts > auto:
        return MergeStatus.PARTIAL_SUCCESS
    return MergeStatus.SUCCESS


def _slowdown(incidents: Sequence[Incident], at: float) -> float:
    factor = 1.0
    for incident in incidents:
        if incident.kind is IncidentKind.MERGE_PIPELINE:
            factor *= float(incident.factor(np.array([at]))[0])
    return factor

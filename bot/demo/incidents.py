"""Labelled incidents the synthetic workload can inject: what slowed down, when, by how much.

Each incident multiplies the latency of its operations by a factor over time:

* `spike`: x magnitude for a few minutes (a lock storm, a bad query plan for a moment);
* `level_shift`: x magnitude for hours (a deploy, a lost index) until fixed;
* `degradation`: rises linearly from x1 to x magnitude over days (table bloat, data growth),
  then drops back when fixed at `end`;
* `merge_pipeline`: `merge_base_find`, `merge_conflict_detect` and `merge_branches` slowed
  together, with a shared minute-to-minute wobble so their per-minute means move together
  (the correlated slowdown the bottleneck analysis should name);
* `traffic_stop`: its operations stop reporting (no samples) over [start, end): a dead writer.

`plan_incidents` draws a reproducible schedule of them for benchmarks and the demo."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from bot.demo.operations import MERGE_PIPELINE, OPERATION_NAMES

FloatArray = npt.NDArray[np.float64]
WOBBLE_PERIOD_S = 600.0


class IncidentKind(StrEnum):
    SPIKE = "spike"
    LEVEL_SHIFT = "level_shift"
    DEGRADATION = "degradation"
    MERGE_PIPELINE = "merge_pipeline"
    TRAFFIC_STOP = "traffic_stop"


@dataclass(frozen=True)
class Incident:
    """One injected slowdown of `operations` over [start, end) (UTC); `magnitude` is the
    latency factor at its height."""

    kind: IncidentKind
    operations: tuple[str, ...]
    start: datetime
    end: datetime
    magnitude: float

    def factor(self, seconds: FloatArray) -> FloatArray:
        """The latency factor (>= 1) at each time, given in epoch seconds."""
        t0, t1 = self.start.timestamp(), self.end.timestamp()
        inside = (seconds >= t0) & (seconds < t1)
        extra: FloatArray = np.full(len(seconds), self.magnitude - 1.0)
        if self.kind is IncidentKind.TRAFFIC_STOP:
            extra = np.zeros(len(seconds))  # no slowdown: the samples are dropped instead
        elif self.kind is IncidentKind.DEGRADATION:
            extra = extra * (seconds - t0) / (t1 - t0)
        elif self.kind is IncidentKind.MERGE_PIPELINE:
            # Shared by all three operations: the per-minute means co-move.
            minute = np.floor((seconds - t0) / 60.0) * 60.0
            extra = extra * (1.0 + 0.5 * np.sin(2.0 * np.pi * minute / WOBBLE_PERIOD_S))
        result: FloatArray = np.where(inside, 1.0 + extra, 1.0)
        return result

    def drops(self, seconds: FloatArray) -> npt.NDArray[np.bool_]:
        """Which samples (epoch seconds, of its operations) a traffic stop removes."""
        inside = (seconds >= self.start.timestamp()) & (seconds < self.end.timestamp())
        result: npt.NDArray[np.bool_] = inside & (self.kind is IncidentKind.TRAFFIC_STOP)
        return result


def plan_incidents(
    start: datetime,
    days: int,
    seed: int = 7,
    operations: Sequence[str] = OPERATION_NAMES,
    *,
    spikes_per_day: int = 4,
    shifts_per_day: int = 1,
    merge_slowdowns_per_day: int = 1,
    degradations: int = 2,
) -> tuple[Incident, ...]:
    """A reproducible schedule over [start, start + days): per day `spikes_per_day` spikes
    (3-10 min, x3-8), `shifts_per_day` level shifts (1-4 h, x1.6-3) and
    `merge_slowdowns_per_day` merge-pipeline slowdowns (30-60 min, x2-4), plus `degradations`
    slow degradations (ramping to x1.6-2.2 over 2-3 days). Sorted by start."""
    rng = np.random.default_rng(seed)
    ops = [op for op in operations if op not in MERGE_PIPELINE] or list(operations)
    plan: list[Incident] = []

    def add(
        kind: IncidentKind, names: tuple[str, ...], day: int, span_s: float, mag: float
    ) -> None:
        span_s = 60.0 * round(span_s / 60.0)
        begin = start + timedelta(days=day, seconds=float(rng.uniform(0, 86_400 - span_s)))
        begin = begin.replace(second=0, microsecond=0)
        plan.append(Incident(kind, names, begin, begin + timedelta(seconds=span_s), mag))

    for day in range(days):
        for _ in range(spikes_per_day):
            op = str(rng.choice(ops))
            add(IncidentKind.SPIKE, (op,), day, 60.0 * rng.integers(3, 11), rng.uniform(3, 8))
        for _ in range(shifts_per_day):
            op = str(rng.choice(ops))
            add(IncidentKind.LEVEL_SHIFT, (op,), day, 3600 * rng.uniform(1, 4), rng.uniform(1.6, 3))
        for _ in range(merge_slowdowns_per_day):
            minutes = float(rng.integers(30, 61))
            add(IncidentKind.MERGE_PIPELINE, MERGE_PIPELINE, day, 60 * minutes, rng.uniform(2, 4))
    for i in range(degradations):
        span = 3600.0 * float(rng.integers(48, 73))
        first = min(days - 1, int(i * days / max(degradations, 1)))
        begin = start + timedelta(days=first, hours=int(rng.integers(0, 12)))
        op = str(rng.choice(ops))
        mag = float(rng.uniform(1.6, 2.2))
        plan.append(
            Incident(IncidentKind.DEGRADATION, (op,), begin, begin + timedelta(seconds=span), mag)
        )
    return tuple(sorted(plan, key=lambda incident: (incident.start, incident.kind)))

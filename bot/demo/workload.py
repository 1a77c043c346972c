"""A synthetic pgGit workload: timed operations and merges, with injected, labelled incidents.

Pure numpy with a seeded generator, built one hour at a time from a seed derived from (seed,
hour), so `history(start, end)` and the demo's minute-by-minute `minute(t)` produce the very same
samples. What a sample looks like:

* arrivals: Poisson per operation and minute at `rate_per_op_per_min`, busier by day
  (traffic x(1 + traffic_amplitude) at 14:00 UTC, x(1 - traffic_amplitude) at 02:00);
* duration: the operation's typical ms x a log-normal body (its sigma) x a daily cycle
  (slower by day, `daily_amplitude` in ln units) x a small shared per-minute load wobble; with
  probability `tail_probability` a Pareto(`tail_alpha`) factor (GC pauses, lock waits) on top;
* incidents multiply durations by their factor (`bot.demo.incidents`).

A week at 30 requests per operation per minute (10 M rows) takes a few seconds."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from bot.demo.incidents import Incident
from bot.demo.merge_traffic import merges_for_hour
from bot.demo.operations import OPERATIONS, OperationSpec
from bot.models import MergeRecord

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
HOUR_S = 3600
PEAK_HOUR_UTC = 14.0


@dataclass(frozen=True, eq=False)
class Samples:
    """Timed operations in columns: `op` indexes `operations`, `timestamp` is datetime64[ms]
    (UTC), `duration_ms` in ms. Sorted by time."""

    operations: tuple[str, ...]
    op: IntArray
    timestamp: npt.NDArray[np.datetime64]
    duration_ms: FloatArray

    def __len__(self) -> int:
        return len(self.op)

    @staticmethod
    def concat(parts: Sequence["Samples"], operations: tuple[str, ...]) -> "Samples":
        """All samples of `parts` in order."""
        if not parts:
            return Samples(
                operations, np.zeros(0, np.int64), np.zeros(0, "datetime64[ms]"), np.zeros(0)
            )
        return Samples(
            operations,
            np.concatenate([p.op for p in parts]),
            np.concatenate([p.timestamp for p in parts]),
            np.concatenate([p.duration_ms for p in parts]),
        )

    def between(self, start: datetime, end: datetime) -> "Samples":
        """The samples in [start, end)."""
        lo, hi = np.searchsorted(self.timestamp, [_ms(start), _ms(end)])
        return Samples(
            self.operations, self.op[lo:hi], self.timestamp[lo:hi], self.duration_ms[lo:hi]
        )


@dataclass
class Workload:
    """A reproducible pgGit-like workload. `rate_per_op_per_min` is a number for every operation
    or a mapping by name (missing names get 0); `incidents` are injected as given."""

    seed: int = 0
    rate_per_op_per_min: float | Mapping[str, float] = 10.0
    operations: tuple[OperationSpec, ...] = OPERATIONS
    incidents: tuple[Incident, ...] = ()
    daily_amplitude: float = 0.2
    traffic_amplitude: float = 0.5
    wobble_sigma: float = 0.03
    tail_probability: float = 0.005
    tail_alpha: float = 1.5
    merges_per_hour: float = 40.0
    _cache: dict[int, Samples] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Operation names; sample op codes index into this."""
        return tuple(spec.name for spec in self.operations)

    def history(self, start: datetime, end: datetime) -> Samples:
        """Every sample in [start, end), sorted by time."""
        first, last = _hour(start), _hour(end - timedelta(microseconds=1))
        parts = [self._hour_samples(h) for h in range(first, last + 1)]
        return Samples.concat(parts, self.names).between(start, end)

    def minute(self, start: datetime) -> Samples:
        """The samples of [start, start + 1 min): the demo's next minute of traffic."""
        hour = self._cache.get(_hour(start))
        if hour is None:
            self._cache.clear()  # the demo walks forward; one hour is all it needs
            hour = self._cache[_hour(start)] = self._hour_samples(_hour(start))
        return hour.between(start, start + timedelta(minutes=1))

    def stream(self, start: datetime) -> Iterator[Samples]:
        """Endless minutes from `start` (truncated to the minute)."""
        moment = start.replace(second=0, microsecond=0)
        while True:
            yield self.minute(moment)
            moment += timedelta(minutes=1)

    def merges(self, start: datetime, end: datetime) -> list[MergeRecord]:
        """Merges started in [start, end), oldest first (see `bot.demo.merge_traffic`)."""
        found: list[MergeRecord] = []
        for h in range(_hour(start), _hour(end - timedelta(microseconds=1)) + 1):
            rng = np.random.default_rng([self.seed, h, 1])
            found += merges_for_hour(rng, h * HOUR_S, self.merges_per_hour, self.incidents)
        return [m for m in found if start <= m.started_at < end]

    def _rates(self) -> FloatArray:
        if isinstance(self.rate_per_op_per_min, Mapping):
            rates = self.rate_per_op_per_min
            return np.array([float(rates.get(spec.name, 0.0)) for spec in self.operations])
        return np.full(len(self.operations), float(self.rate_per_op_per_min))

    def _hour_samples(self, hour: int) -> Samples:
        rng = np.random.default_rng([self.seed, hour])
        minute_start = hour * HOUR_S + 60.0 * np.arange(60)
        phase = 2.0 * np.pi * ((minute_start / HOUR_S) % 24 - PEAK_HOUR_UTC) / 24.0
        traffic = 1.0 + self.traffic_amplitude * np.cos(phase)
        lam = self._rates()[:, None] * traffic[None, :]
        counts = rng.poisson(lam)  # operations x minutes
        op = np.repeat(np.arange(len(self.operations)), counts.sum(axis=1))
        minute = np.repeat(np.tile(np.arange(60), len(self.operations)), counts.ravel())
        seconds = minute_start[minute] + rng.uniform(0.0, 60.0, len(op))
        order = np.argsort(seconds, kind="stable")
        op, minute, seconds = op[order], minute[order], seconds[order]
        typical = np.array([spec.typical_ms for spec in self.operations])
        sigma = np.array([spec.sigma for spec in self.operations])
        wobble = np.exp(self.wobble_sigma * rng.standard_normal(60))
        durations = typical[op] * np.exp(
            sigma[op] * rng.standard_normal(len(op)) + self.daily_amplitude * np.cos(phase[minute])
        )
        durations *= wobble[minute]
        tail = rng.random(len(op)) < self.tail_probability
        durations[tail] *= rng.pareto(self.tail_alpha, int(tail.sum())) + 1.0
        names = self.names
        keep = np.ones(len(op), dtype=np.bool_)
        for incident in self.incidents:
            codes = [names.index(n) for n in incident.operations if n in names]
            hit = np.isin(op, codes)
            if hit.any():
                durations[hit] *= incident.factor(seconds[hit])
                keep[np.flatnonzero(hit)[incident.drops(seconds[hit])]] = False
        op, seconds, durations = op[keep], seconds[keep], durations[keep]
        stamps = (seconds * 1000.0).astype(np.int64).astype("datetime64[ms]")
        return Samples(names, op.astype(np.int64), stamps, durations)


def _hour(moment: datetime) -> int:
    return int(moment.timestamp() // HOUR_S)


def _ms(moment: datetime) -> np.datetime64:
    return np.datetime64(int(moment.timestamp() * 1000), "ms")

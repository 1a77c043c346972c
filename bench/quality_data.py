"""Traffic for the detection-quality bench that is NOT the robust detector's model, and the
labelled incidents injected into it. Pure numpy, reproducible from (seed, operation, hour).

What a day looks like (all times UTC):

* operations at several rates: `busy` ones peak at 10 or 30 requests/min, one at 3/min, and
  `low` ones (batch-like, flat) at 0.2-1 request/min (`OPERATIONS`);
* a weekly cycle: weekday office hours (07:00-19:00, a half-sine up to the peak rate, 30 % of it
  at night), weekends at a quarter of the weekday traffic (low-rate operations at half);
* bursts: per operation and hour, with probability 0.08, 2-5 minutes at 4x the traffic, a
  third of it retries (the same call again, 1-2x slower), and latency x1.15 during the burst;
* latency = typical ms x a mixture per request: 80 % log-normal (sigma 0.3-0.5), 19 % gamma
  (shape 2, mean 1.8x: the slow path, a cache miss), 1 % rare outliers at 5-40x; x a load factor
  (up to +15 % at peak traffic); x a slow trend (-2 %..+3 % a day) x deploy level shifts (each
  weekday, with probability 0.3, a permanent step x0.9-1.12 at a random office hour);
* gaps: per operation and day, with probability 0.3, 2-10 minutes without any row (at night).

Incidents (`plan`), per evaluated day, each on one operation at a random time, at least 3 h
from any other incident of that operation, and never within the first 45 minutes of a day;
on busy operations 60 % of them fall in office hours (09:00-17:00), the rest anywhere:

* spike x1.2, 1.5, 2, 3, 5, 8 for 5 minutes on a busy (10/min) operation;
* level shift x1.2, 1.5, 2, 3 for 60 minutes on a busy operation;
* low-rate shift x4 for 30 minutes on a 0.5/min operation (two a day);
* traffic stop: a busy operation reports nothing for 60 minutes; and a second one a day on a
  30/min operation in office hours (its own random stream: the incidents above are unchanged)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

HOUR_S = 3600
DAY_S = 86400


@dataclass(frozen=True)
class Op:
    name: str
    rate: float  # requests per minute at the weekday peak (busy) or always (low)
    typical_ms: float
    sigma: float
    low: bool = False


OPERATIONS = (
    Op("commit", 10, 12.0, 0.35),
    Op("get_object", 10, 3.0, 0.30),
    Op("branch_create", 10, 8.0, 0.40),
    Op("diff_trees", 10, 25.0, 0.45),
    Op("get_history", 10, 40.0, 0.50),
    Op("merge_branches", 10, 60.0, 0.45),
    Op("read_blob", 30, 2.0, 0.30),
    Op("list_refs", 30, 1.5, 0.35),
    Op("tag_create", 3, 6.0, 0.40),
    Op("gc_pack", 0.2, 900.0, 0.40, low=True),
    Op("rollback_branch", 0.5, 120.0, 0.40, low=True),
    Op("merge_base_find", 0.5, 30.0, 0.40, low=True),
    Op("export_repo", 1.0, 300.0, 0.45, low=True),
)
BUSY_10 = tuple(o.name for o in OPERATIONS if o.rate == 10)
BUSY_30 = tuple(o.name for o in OPERATIONS if o.rate == 30)
LOW_05 = tuple(o.name for o in OPERATIONS if o.low and o.rate == 0.5)
SPIKE_MAGNITUDES = (1.2, 1.5, 2.0, 3.0, 5.0, 8.0)
SHIFT_MAGNITUDES = (1.2, 1.5, 2.0, 3.0)


@dataclass(frozen=True)
class Incident:
    kind: str  # spike | level_shift | low_rate_shift | traffic_stop
    operation: str
    start: datetime
    end: datetime
    magnitude: float  # latency factor; 0 for a traffic stop


def traffic(op: Op, t_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Expected requests per minute at epoch seconds `t_s` (no bursts, no gaps)."""
    hour = (t_s % DAY_S) / HOUR_S
    weekday = ((t_s // DAY_S).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weekend = weekday >= 5
    if op.low:
        return op.rate * np.where(weekend, 0.5, 1.0)
    office = np.clip(np.sin(np.pi * (hour - 7.0) / 12.0), 0.0, None)
    shape = 0.3 + 0.7 * np.where((hour >= 7) & (hour < 19), office, 0.0)
    return op.rate * shape * np.where(weekend, 0.25, 1.0)


class Traffic:
    """Rows of every operation for one seed, with `incidents` injected."""

    def __init__(self, seed: int, origin: datetime, days: int, incidents: tuple[Incident, ...]):
        self.seed = seed
        self.origin_day = int(origin.timestamp()) // DAY_S
        self.incidents = incidents
        # per operation, the latency level of each day: trend x deploy steps (fixed per seed)
        self.level: dict[str, npt.NDArray[np.float64]] = {}
        self.step_at: dict[str, npt.NDArray[np.float64]] = {}
        for i, op in enumerate(OPERATIONS):
            rng = np.random.default_rng([seed, i, 99])
            slope = rng.uniform(-0.02, 0.03)
            steps = np.where(rng.random(days + 1) < 0.3, rng.uniform(0.9, 1.12, days + 1), 1.0)
            weekday = (self.origin_day + np.arange(days + 1) + 3) % 7
            steps = np.where(weekday < 5, steps, 1.0)
            self.step_at[op.name] = rng.uniform(10, 16, days + 1)  # hour of each day's step
            self.level[op.name] = np.stack([np.exp(slope * np.arange(days + 1)), steps])

    def rows(self, start: datetime, end: datetime) -> list[tuple[str, float, datetime]]:
        """(operation, duration ms, recorded_at) of [start, end), whole hours inside."""
        out: list[tuple[str, float, datetime]] = []
        first, last = int(start.timestamp()) // HOUR_S, -(-int(end.timestamp()) // HOUR_S)
        lo, hi = start.timestamp(), end.timestamp()
        for h in range(first, last):
            for i, op in enumerate(OPERATIONS):
                ts, ms = self._hour(i, op, h)
                keep = (ts >= lo) & (ts < hi)
                out += [
                    (op.name, float(d), datetime.fromtimestamp(float(t), UTC))
                    for t, d in zip(ts[keep], ms[keep], strict=True)
                ]
        out.sort(key=lambda r: r[2])
        return out

    def _hour(
        self, i: int, op: Op, hour: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        rng = np.random.default_rng([self.seed, i, hour])
        minute_s = hour * HOUR_S + 60.0 * np.arange(60)
        rate = traffic(op, minute_s)
        lat = np.ones(60)
        if rng.random() < 0.08:  # a burst
            b0, blen = int(rng.integers(0, 58)), int(rng.integers(2, 6))
            rate[b0 : b0 + blen] *= 4.0
            lat[b0 : b0 + blen] *= 1.15
        day = hour // 24
        if rng.random() < 0.3 / 24 and (hour % 24 < 6 or hour % 24 >= 21):  # a gap
            g0 = int(rng.integers(0, 50))
            rate[g0 : g0 + int(rng.integers(2, 11))] = 0.0
        counts = rng.poisson(rate)
        n = int(counts.sum())
        which = np.repeat(np.arange(60), counts)
        ts = minute_s[which] + rng.uniform(0, 60, n)
        kind = rng.random(n)
        body = np.where(
            kind < 0.80,
            rng.lognormal(0.0, op.sigma, n),
            np.where(kind < 0.99, rng.gamma(2.0, 0.9, n), rng.uniform(5, 40, n)),
        )
        peak = 30.0 if op.rate >= 30 else max(op.rate, 1.0)
        load = 1.0 + 0.15 * np.clip(rate[which] / peak, 0, 1.5)
        retry = rng.random(n) < np.where(lat[which] > 1, 1 / 3, 0.0)
        body = body * np.where(retry, rng.uniform(1, 2, n), 1.0)
        d = min(max(day - self.origin_day, 0), self.level[op.name].shape[1] - 1)
        trend, steps = self.level[op.name][:, : d + 1]
        level = trend[d] * np.prod(steps[:d])
        level *= np.where((ts % DAY_S) / HOUR_S >= self.step_at[op.name][d], steps[d], 1.0)
        ms = op.typical_ms * body * lat[which] * load * level
        keep = np.ones(n, bool)
        for inc in self.incidents:
            if inc.operation != op.name:
                continue
            inside = (ts >= inc.start.timestamp()) & (ts < inc.end.timestamp())
            if inc.kind == "traffic_stop":
                keep &= ~inside
            else:
                ms = np.where(inside, ms * inc.magnitude, ms)
        ms = np.round(ms, 3)  # pgGit stores NUMERIC(10,3)
        return ts[keep], ms[keep]


def plan(seed: int, start: datetime, days: int) -> tuple[Incident, ...]:
    """The labelled incidents of [start, start + days), see the module docstring."""
    rng = np.random.default_rng([seed, 7])
    planned: list[Incident] = []
    for day in range(days):
        todo = (
            [("spike", m, 5, BUSY_10) for m in SPIKE_MAGNITUDES]
            + [("level_shift", m, 60, BUSY_10) for m in SHIFT_MAGNITUDES]
            + [("low_rate_shift", 4.0, 30, LOW_05)] * 2
            + [("traffic_stop", 0.0, 60, BUSY_10)]
        )
        for kind, magnitude, minutes, ops in todo:
            for _ in range(1000):
                op = str(rng.choice(ops))
                # busy-operation incidents fall in office hours (09:00-17:00) 60 % of the time
                office = ops != LOW_05 and rng.random() < 0.6
                lo, hi = (540, 1020 - minutes) if office else (45, 1440 - minutes)
                begin = start + timedelta(days=day, minutes=int(rng.integers(lo, hi)))
                end = begin + timedelta(minutes=minutes)
                if _apart(planned, op, begin, end):
                    planned.append(Incident(kind, op, begin, end, magnitude))
                    break
    # One more stop a day, on a 30/min operation in office hours (busy even on a weekend), drawn
    # from a stream of its own so that the incidents above stay what they were.
    extra = np.random.default_rng([seed, 8])
    for day in range(days):
        for _ in range(1000):
            op = str(extra.choice(BUSY_30))
            begin = start + timedelta(days=day, minutes=int(extra.integers(540, 960)))
            end = begin + timedelta(minutes=60)
            if _apart(planned, op, begin, end):
                planned.append(Incident("traffic_stop", op, begin, end, 0.0))
                break
    return tuple(sorted(planned, key=lambda i: i.start))


def _apart(planned: list[Incident], op: str, begin: datetime, end: datetime) -> bool:
    """Whether [begin, end) on `op` is at least 3 h from every incident planned on it."""
    return all(
        i.operation != op
        or begin >= i.end + timedelta(hours=3)
        or end <= i.start - timedelta(hours=3)
        for i in planned
    )


def expected_rate(incident: Incident) -> float:
    """Requests per minute the operation usually has at the incident's start."""
    op = next(o for o in OPERATIONS if o.name == incident.operation)
    return float(traffic(op, np.array([incident.start.timestamp()]))[0])

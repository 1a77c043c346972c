"""The robust detector: is the operation's latency *distribution* over the last 1, 5 or 15
minutes shifted up against its last 24 hours, at this hour of day?

Why not per-request z-scores: latencies are lognormal with Pareto tails and a daily cycle, so the
mean and sigma are dominated by rare huge requests and a 3-sigma bar is crossed by single slow
requests every few minutes across 33 operations. Instead, per operation and per window W (the new
minute alone, and with the 4 and 14 minutes before it, so slow but steady shifts add up), against
the reference R (the lookback minus W), in ln(ms), with R's level moved by the hour-of-day
seasonality (`bot.analysis.seasonality`):

* location: z = (median(W) - expected median) / (1.2533 * sigma_R / sqrt(n_W)), the standard
  error of a sample median, with sigma_R = IQR(R) / 1.349 (robust to the tail);
* tail: how many of W's requests exceed R's (seasonal) p99, against the fraction of R above it,
  as the signed root of the binomial likelihood-ratio statistic (roughly a one-sided z).

Low-rate operations: with fewer than `pool_below` (20) requests in the last 15 minutes, the
window also grows back to 30 and 60 minutes (`pool_windows_min`), so an operation with one
request every few minutes is scored on the requests of up to an hour (the bars are the same).

Each needs an effect size too (the median at least `min_ratio` x expected, or at least
`min_tail_fraction` of requests above the old p99), so that big, busy operations do not page for
significant but harmless 3 % shifts (`min_ratio` 1.3, up from 1.25: two false spikes on the
tuning seeds were +25-26 % on the busiest operation). Only slowdowns count: faster is not an incident.

Windows need `min_samples` (5) requests, the 1-minute one `robust_min_samples` (10): the median of
five heavy-tailed requests is one slow-path request away from "x3".

Load: when a regular window carries at least `surge_ratio` (2) x the requests a minute of the
45 minutes before the 15-minute window (and 3 Poisson sigmas more), the slowdown comes with a
traffic surge (bursts, retries). It pages only when the median is at least `surge_min_ratio`
(2) x expected, and never on the tail alone; `load_surge` in the facts says so. On the quality
bench's tuning seeds 16 of 19 false spike alerts were such bursts (+25-98 %).

* WARNING: over the last 1, 5 or 15 minutes the operation was slower than usual for this hour
  by at least `robust_warning` (5) standard errors, a chance below 1 in 3 million per test, and
  by a visible margin (median +30 %, or 5 % of requests above the old p99).
* CRITICAL: the same evidence reaches `robust_critical` (7) standard errors *and* the typical
  (median) request is at least `critical_ratio` (2) times slower than expected.

Production default: **robust**, chosen by measurement (`bench/detection_quality.py`, see
bench/README.md): through the production cycle on held-out seeds of traffic that is not this
model (weekly cycle, bursts, trends, deploy steps, heavy-tailed mixtures), it raised 0.65 false
alerts per operation-day at WARNING+ against the z-score detector's 9.8; with the surge rule, the
1-minute sample floor and the degradation's p90 condition (parameters chosen on tuning seeds),
0.077 on the held-out seeds (target 0.1), with x2 spikes and x1.5 hour-long shifts at 10
requests/min still found."""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from bot.analysis.evidence import Evidence
from bot.analysis.histogram import MIN_MS, FloatArray, IntArray, count_above
from bot.analysis.params import DetectionParams
from bot.analysis.rollups import Rollups, as_datetime64
from bot.analysis.summary import Summary

MEDIAN_SE = 1.2533  # sqrt(pi / 2): standard error of a normal sample's median, in sigmas
IQR_SIGMA = 1.349  # interquartile range of a standard normal
SIGMA_FLOOR = 0.05  # ln units; a bit above one histogram bucket (0.043), quantisation's floor


@dataclass(frozen=True, eq=False)
class Split:
    """The reference cut at each window's start: `pieces[0]` is everything before the longest
    window, `pieces[j]` the slice between window starts j-1 and j, the last piece what follows
    the shortest window's start (normally nothing: the new window is excluded already).
    `windows_s[j]` is the length of the window starting at cut j (longest first)."""

    pieces: tuple[Summary, ...]
    windows_s: tuple[int, ...]

    @property
    def total(self) -> Summary:
        """The whole reference."""
        result = self.pieces[0]
        for piece in self.pieces[1:]:
            result = result + piece
        return result


def split_reference(reference: Rollups, now: datetime, windows_min: Sequence[int]) -> Split:
    """Summaries of `reference` cut at now - w minutes for each window length w."""
    end = as_datetime64(now)
    cuts = sorted({end - np.timedelta64(60 * w, "s") for w in windows_min})
    bounds = [np.datetime64(0, "s"), *cuts, end + np.timedelta64(1, "D")]
    pieces = tuple(Summary.of(reference.select(a, b)) for a, b in pairwise(bounds))
    return Split(pieces, tuple(int((end - c).astype(np.int64)) for c in cuts))


def robust_evidence(
    fresh: Summary,
    split: Split,
    shift: FloatArray,
    operations: tuple[str, ...],
    params: DetectionParams,
    fresh_s: int = 60,
) -> Evidence:
    """Per operation: the strongest window's one-sided robust z (standard errors), severity,
    samples and outliers (requests above the reference's seasonal p99). `fresh` summarises the
    new window, `split` the reference cut at each window's start, both with histograms and the
    same op codes; `shift` is the expected ln(ms) level shift per op (zeros without seasonality).
    `deviation_pct` is the window median against the expected median, in %."""
    best = _Window.nothing(len(operations))
    regular = 60 * max(params.windows_min)
    wins = []
    for j in range(len(split.windows_s)):
        win = fresh
        for part in split.pieces[j + 1 :]:
            win = win + part
        wins.append(win)
    # Pooled (longer) windows only for the operations too quiet for the regular ones.
    quiet = next(
        (
            w.n < params.pool_below
            for w, s in zip(wins, split.windows_s, strict=True)
            if s <= regular
        ),
        np.ones(len(operations), dtype=np.bool_),
    )
    surge = _surge(wins, split, regular, params, fresh_s)
    for j, window_s in enumerate(split.windows_s):
        ref = split.pieces[0]
        for part in split.pieces[1 : j + 1]:
            ref = ref + part
        pooled = window_s > regular
        only = quiet if pooled else None
        shortest = window_s == 60 * min(params.windows_min)
        least = max(params.min_samples, params.robust_min_samples if shortest else 0)
        best = best.stronger(_assess(wins[j], ref, shift, params, window_s, only, least, surge))
    return Evidence(
        rule="robust",
        operations=operations,
        severity=best.severity,
        z=best.z,
        strength=best.strength,
        samples=best.samples,
        outliers=best.outliers,
        value_ms=best.worst_ms,
        deviation_pct=100.0 * (best.ratio - 1.0),
        window_s=best.window_s,
        facts={
            "window_median_ms": best.median_ms,
            "expected_median_ms": best.expected_ms,
            "z_location": best.z_location,
            "z_tail": best.z_tail,
            "tail_fraction": best.tail_fraction,
            "reference_samples": best.ref_samples,
            "load_surge": surge.astype(np.float64),
        },
    )


def _surge(
    wins: Sequence[Summary], split: Split, regular: int, params: DetectionParams, fresh_s: int
) -> npt.NDArray[np.bool_]:
    """Per operation: does any regular window (1-15 min) carry at least `surge_ratio` x the
    requests a minute of the minutes before the longest regular window (back to the longest
    pooled one), and 3 Poisson sigmas more? A window holds at least the `fresh_s` seconds
    scored now (a catch-up scores hours at once), which the reference leaves out. Without
    pooled windows, or too little before, nobody surges."""
    k = len(wins[0].n) if wins else 0
    result = np.zeros(k, dtype=np.bool_)
    longest = split.windows_s[0] if split.windows_s else 0
    if longest <= regular:
        return result
    prior = None
    for j, window_s in enumerate(split.windows_s):
        if window_s <= regular:
            break
        piece = split.pieces[j + 1]
        prior = piece if prior is None else prior + piece
    if prior is None:
        return result
    prior_s = (longest - regular) - max(0, min(fresh_s, longest) - regular)
    if prior_s < 60:
        return result
    per_s = prior.n / float(prior_s)
    known = prior.n >= params.min_samples  # no usual rate known (a new operation): no surge
    for win, window_s in zip(wins, split.windows_s, strict=True):
        if window_s > regular:
            continue
        due = per_s * max(window_s, fresh_s)
        result |= known & (win.n >= params.surge_ratio * due) & (win.n - due >= 3.0 * np.sqrt(due))
    return result


@dataclass(frozen=True, eq=False)
class _Window:
    """Per-op verdict arrays for one window length, comparable by severity then strength."""

    severity: IntArray
    z: FloatArray
    strength: FloatArray
    samples: IntArray
    outliers: IntArray
    worst_ms: FloatArray
    ratio: FloatArray
    window_s: IntArray
    median_ms: FloatArray
    expected_ms: FloatArray
    z_location: FloatArray
    z_tail: FloatArray
    tail_fraction: FloatArray
    ref_samples: FloatArray

    @classmethod
    def nothing(cls, k: int) -> "_Window":
        nan = np.full(k, np.nan)
        zero = np.zeros(k, dtype=np.int64)
        return cls(
            zero,
            nan,
            np.zeros(k),
            zero,
            zero,
            nan,
            np.ones(k),
            zero,
            nan,
            nan,
            nan,
            nan,
            nan,
            np.zeros(k),
        )

    def stronger(self, other: "_Window") -> "_Window":
        """Per op, the columns of whichever window has the higher severity, then strength."""
        take = (other.severity > self.severity) | (
            (other.severity == self.severity) & (other.strength > self.strength)
        )
        return _Window(
            *(np.where(take, getattr(other, f.name), getattr(self, f.name)) for f in fields(self))
        )


def _assess(
    win: Summary,
    ref: Summary,
    shift: FloatArray,
    params: DetectionParams,
    window_s: int,
    only: npt.NDArray[np.bool_] | None = None,
    least: int | None = None,
    surge: npt.NDArray[np.bool_] | None = None,
) -> _Window:
    if win.hist is None or ref.hist is None:
        raise ValueError("robust detection needs rollups with histograms")
    least = params.min_samples if least is None else least
    usable = (win.n >= least) & (ref.n >= params.min_reference)
    if only is not None:
        usable &= only
    n_win = np.maximum(win.n, 1).astype(np.float64)
    # Zero durations are valid (pgGit stores 0.000 ms): they count at the histograms' floor,
    # MIN_MS, as they are bucketed, so an all-zero quartile is ln(MIN_MS), never -inf.
    ref_q = np.maximum(ref.quantiles([0.25, 0.5, 0.75, 0.99]), MIN_MS)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ref = np.log(ref_q)
        log_median = np.log(np.maximum(win.quantiles([0.5])[:, 0], MIN_MS))
    sigma = np.maximum((log_ref[:, 2] - log_ref[:, 0]) / IQR_SIGMA, SIGMA_FLOOR)
    expected = log_ref[:, 1] + shift
    z_location = (log_median - expected) / (MEDIAN_SE * sigma / np.sqrt(n_win))
    ratio = np.exp(log_median - expected)
    p99 = np.where(np.isfinite(log_ref[:, 3]), ref_q[:, 3], np.inf)
    above = count_above(win.hist, p99 * np.exp(shift))
    baseline_rate = (count_above(ref.hist, p99) + 0.5) / (ref.n + 1.0)
    z_tail = binomial_z(above, win.n, baseline_rate)
    fraction = above / n_win
    loc_ok = ratio >= params.min_ratio
    tail_ok = fraction >= params.min_tail_fraction
    if surge is not None:  # under a traffic surge only a large slowdown of the median pages
        loc_ok &= ~surge | (ratio >= params.surge_min_ratio)
        tail_ok &= ~surge
    bar = params.robust_warning
    # Evidence that misses its effect-size floor is kept, but below the WARNING bar.
    loc_strength = np.where(loc_ok, z_location / bar, np.minimum(z_location / bar, 0.99))
    tail_strength = np.where(tail_ok, z_tail / bar, np.minimum(z_tail / bar, 0.99))
    strength = np.where(usable, np.nan_to_num(np.maximum(loc_strength, tail_strength)), 0.0)
    z = np.where(usable, np.fmax(z_location, z_tail), np.nan)
    warn = strength >= 1.0
    crit = warn & (np.nan_to_num(z) >= params.robust_critical) & (ratio >= params.critical_ratio)
    return _Window(
        severity=np.where(crit, 2, np.where(warn, 1, 0)).astype(np.int64),
        z=z,
        strength=np.maximum(strength, 0.0),
        samples=win.n.astype(np.int64),
        outliers=np.where(usable, above, 0).astype(np.int64),
        worst_ms=np.where(win.n > 0, win.max_ms, np.nan),
        ratio=np.where(usable, ratio, 1.0),
        window_s=np.full(len(win.n), window_s, dtype=np.int64),
        median_ms=np.exp(log_median),
        expected_ms=np.exp(expected),
        z_location=z_location,
        z_tail=z_tail,
        tail_fraction=fraction,
        ref_samples=ref.n.astype(np.float64),
    )


def binomial_z(k: IntArray, n: IntArray, p: FloatArray) -> FloatArray:
    """Signed root of the binomial likelihood-ratio statistic for k successes in n trials
    against rate p: about a standard normal z, positive when k/n > p; 0 where n = 0.

    Excesses are continuity-corrected (k - 0.5), which keeps the z a little *below* the exact
    binomial tail's at small counts (4 of 10 at p = 0.5 %: 4.9 against an exact 5.15), where
    the uncorrected root would overstate it by as much."""
    nf = np.maximum(n, 1).astype(np.float64)
    expected = nf * p
    kf = np.where(k > expected, np.maximum(k - 0.5, expected), k).astype(np.float64)
    rate = kf / nf
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(kf > 0, kf * np.log(rate / p), 0.0)
        second = np.where(nf - kf > 0, (nf - kf) * np.log((1.0 - rate) / (1.0 - p)), 0.0)
    stat = 2.0 * (first + second)
    result: FloatArray = np.where(n > 0, np.sign(rate - p) * np.sqrt(np.maximum(stat, 0.0)), 0.0)
    return result

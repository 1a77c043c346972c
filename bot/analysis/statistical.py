"""The seed-compatible z-score detector: is any duration in the new window more than 3 (4)
population standard deviations from the reference mean?

Semantics kept from the original design: two-sided |z| >= z_warning is WARNING, >= z_critical
CRITICAL; population sigma; at least `min_samples` reference samples and sigma > 0. Fixed: the
reference *excludes* the scored window (the seed scored each point against a window containing
it), and the result is aggregated per operation per cycle: one verdict with the number of
outliers, the worst signed z and the worst duration, never one per request.

The worst z is exact (from the window's exact min and max). The outlier count comes from the new
window's histogram at bucket granularity: a bucket counts when it lies entirely beyond mean +/-
z_warning * sigma, so requests within 4.4 % of the cut-off may be missed; it is at least 1
whenever the worst z is past the bar. The seed scored raw rows; rollups do not keep them."""

import numpy as np

from bot.analysis.evidence import Evidence
from bot.analysis.histogram import FloatArray, count_above, count_below
from bot.analysis.params import DetectionParams
from bot.analysis.summary import Summary


def zscore_evidence(
    new: Summary,
    reference: Summary,
    operations: tuple[str, ...],
    params: DetectionParams,
    window_s: int = 60,
) -> Evidence:
    """Per operation: the worst signed z of the new window against the reference mean and
    population sigma (ms), its severity, and the outlier count. `new` needs histograms;
    `reference` only moments. `deviation_pct` is the worst duration against the reference mean;
    `window_s` is the new window's length in seconds."""
    mean = reference.mean_ms
    sigma = reference.std_ms
    usable = (reference.n >= params.min_samples) & (sigma > 0) & (new.n > 0)
    safe_sigma = np.where(usable, sigma, 1.0)
    high = (new.max_ms - mean) / safe_sigma
    low = (new.min_ms - mean) / safe_sigma
    pick_high = np.abs(high) >= np.abs(low)
    z: FloatArray = np.where(usable, np.where(pick_high, high, low), np.nan)
    worst = np.where(pick_high, new.max_ms, new.min_ms)
    size = np.abs(np.nan_to_num(z))
    severity = np.where(size >= params.z_critical, 2, np.where(size >= params.z_warning, 1, 0))
    severity = np.where(usable, severity, 0).astype(np.int64)
    if new.hist is None:
        raise ValueError("the z-score detector needs the new window's histograms")
    bar = params.z_warning * safe_sigma
    counted = count_above(new.hist, mean + bar) + count_below(new.hist, mean - bar)
    outliers = np.where(usable, np.clip(counted, (severity > 0).astype(np.int64), new.n), 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.where(usable, 100.0 * (worst - mean) / mean, np.nan)
    return Evidence(
        rule="zscore",
        operations=operations,
        severity=severity,
        z=z,
        strength=np.where(usable, size / params.z_warning, 0.0),
        samples=new.n,
        outliers=outliers.astype(np.int64),
        value_ms=np.where(new.n > 0, worst, np.nan),
        deviation_pct=deviation,
        window_s=np.full(len(operations), window_s, dtype=np.int64),
        facts={
            "reference_mean_ms": mean,
            "reference_std_ms": sigma,
            "reference_samples": reference.n.astype(np.float64),
        },
    )

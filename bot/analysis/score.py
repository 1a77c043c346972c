"""`score_series`: the production detector as a causal anomaly score for one labelled series.

This is the entry point for evaluating detection quality on labelled data (a benchmark
dataset, an exported incident): it replays exactly what the `detect` job does minute by minute,
using only data before each minute. The series becomes minute rollups; for each minute with
data, the new window is that minute, the reference the lookback (24 h) before it, the hourly
context (seasonality, degradations) the complete hours before it, recomputed every hour, and the
baselines 7 days of hourly rollups recomputed each UTC day. Every point gets its minute's score.

The score is the strongest spike rule's evidence mapped to [0, 1): 0 no evidence, 0.5 exactly
the WARNING bar (so `score >= 0.5` is where production would raise a spike-type anomaly),
approaching 1 as evidence grows. Degradation verdicts, which judge days rather than points, do
not enter it. With one point per minute, pass `DetectionParams(min_samples=1)`: the default
needs 5 samples in a window."""

import numpy as np
import numpy.typing as npt

from bot.analysis.baseline import compute_baselines
from bot.analysis.detection import HourlyContext, evaluate, prepare, spike_score
from bot.analysis.histogram import FloatArray
from bot.analysis.params import BaselineParams, DegradationParams, DetectionParams
from bot.analysis.rollups import Rollups, as_datetime
from bot.models import Baseline

SERIES = ("series",)


def score_series(
    timestamps: npt.NDArray[np.datetime64],
    values: npt.ArrayLike,
    params: DetectionParams | None = None,
) -> FloatArray:
    """A causal anomaly score in [0, 1) for every point of one latency series (ms), in the
    input's order; see the module docstring. Points are grouped into UTC minutes."""
    settings = params or DetectionParams()
    stamps = np.asarray(timestamps).astype("datetime64[s]")
    series = np.asarray(values, dtype=np.float64)
    scores: FloatArray = np.zeros(len(series))
    if len(series) == 0:
        return scores
    minutes = Rollups.from_values(SERIES, np.zeros(len(series), np.int64), stamps, series, 60)
    hours = minutes.coarsen(3600)
    context: HourlyContext | None = None
    baselines: dict[str, Baseline] = {}
    day = hour = None
    per_minute = np.zeros(len(minutes))
    lookback = np.timedelta64(int(settings.lookback.total_seconds()), "s")
    for row, start in enumerate(minutes.bucket):
        end = start + np.timedelta64(60, "s")
        now = as_datetime(end)
        this_hour = start.astype("datetime64[h]")
        complete = hours.select(this_hour - np.timedelta64(8 * 24, "h"), this_hour)
        if context is None or this_hour != hour:
            hour = this_hour
            context = prepare(complete, now, settings, DegradationParams())
        if start.astype("datetime64[D]") != day:
            day = start.astype("datetime64[D]")
            baselines = compute_baselines(complete, BaselineParams(), now)
        new = minutes.select(start, end)
        reference = minutes.select(end - lookback, start)
        spikes, breaches = evaluate(context, new, reference, baselines, settings, now)
        per_minute[row] = spike_score(spikes, breaches)[0]
    slot = (stamps.astype(np.int64) // 60) * 60
    index = np.searchsorted(minutes.bucket.astype(np.int64), slot)
    scores[:] = per_minute[index]
    return scores

"""Traffic drops and a silent source, from request counts against the usual for this hour."""

import math
from datetime import timedelta

import numpy as np
import pytest

from bot.analysis.params import TrafficParams
from bot.analysis.rollups import Rollups
from bot.analysis.traffic import anomalies, assess_traffic, poisson_cdf
from bot.models import AnomalyKind, Severity
from tests.unit.analysis.factories import NOW, per_minute, rollups

PARAMS = TrafficParams()


def _history(rates: dict[str, float], days: float = 8) -> Rollups:
    """Hourly rollups of `days` before the current hour at `rates` requests a minute (a
    fractional rate: one request every 1/rate minutes)."""
    parts = {}
    minutes = int(days * 24 * 60) - 60
    for op, rate in rates.items():
        times, values = per_minute(NOW - timedelta(days=days), minutes, [5.0] * max(int(rate), 1))
        if rate < 1:
            keep = np.arange(len(times)) % round(1 / rate) == 0
            times, values = times[keep], values[keep]
        parts[op] = (times, values)
    return rollups(parts, 3600)


def _recent(rates: dict[str, float], stopped: dict[str, int]) -> Rollups:
    """Minute rollups of the last 60 minutes at `rates`, each op silent for its last
    `stopped[op]` minutes."""
    parts = {}
    for op, rate in rates.items():
        live = 60 - stopped.get(op, 0)
        if live <= 0:
            continue
        times, values = per_minute(NOW - timedelta(minutes=60), live, [5.0] * max(int(rate), 1))
        if rate < 1:
            keep = np.arange(len(times)) % round(1 / rate) == 0
            times, values = times[keep], values[keep]
        parts[op] = (times, values)
    return rollups(parts, 60) if parts else Rollups.empty(tuple(rates), 60)


@pytest.mark.parametrize(
    ("rates", "now_rates", "stopped", "history_days", "drops", "silent"),
    [
        ({"commit": 10}, None, {}, 8, {}, False),
        # A stop is found by the run of empty minutes as soon as it is a chance below 1e-5:
        # two minutes at 10 a minute (20 due), three at 4 (12), four at 3 (9 in three).
        ({"commit": 10}, None, {"commit": 1}, 8, {}, False),
        # (`read` keeps the source busy: with every operation stopped, the source is silent.)
        ({"commit": 10, "read": 10}, None, {"commit": 2}, 8, {"commit": 2}, False),
        ({"commit": 10, "read": 10}, None, {"commit": 3}, 8, {"commit": 3}, False),
        ({"commit": 4}, None, {"commit": 2}, 8, {}, False),
        ({"commit": 4}, None, {"commit": 3}, 8, {"commit": 3}, False),
        ({"commit": 3}, None, {"commit": 3}, 8, {}, False),
        ({"commit": 3}, None, {"commit": 4}, 8, {"commit": 4}, False),
        ({"commit": 10}, {"commit": 5}, {}, 8, {}, False),  # halved: not "far below"
        ({"commit": 10}, {"commit": 2}, {}, 8, {"commit": 60}, False),  # a fifth
        # A quiet operation (a row every 5 minutes): no row for 54 minutes (10.8 due) is not
        # yet evidence, for 60 (12 due) it is. At 0.5 a minute: 25 minutes (12.5 due).
        ({"lock": 0.2}, None, {"lock": 50}, 8, {}, False),
        ({"lock": 0.2}, None, {"lock": 60}, 8, {"lock": 60}, False),
        ({"lock": 0.5, "read": 10}, None, {"lock": 60}, 8, {"lock": 60}, False),
        ({"lock": 0.5, "read": 10}, None, {"lock": 25}, 8, {"lock": 25}, False),
        # No week of history yet: nothing is usual.
        ({"commit": 10}, None, {"commit": 10}, 6, {}, False),
        # Everything silent: one source alert, not one per operation, after two minutes of a
        # busy source (24 requests due), never after one.
        ({"commit": 10, "merge": 2}, None, {"commit": 10, "merge": 10}, 8, {}, True),
        ({"commit": 10, "merge": 2}, None, {"commit": 2, "merge": 2}, 8, {}, True),
        ({"commit": 10, "merge": 2}, None, {"commit": 1, "merge": 1}, 8, {}, False),
        ({"commit": 10, "merge": 2}, None, {"commit": 9, "merge": 1}, 8, {"commit": 9}, False),
        # A quiet source (1 request a minute in all) is silent after `silence_after` only.
        ({"lock": 0.5, "gc": 0.5}, None, {"lock": 9, "gc": 9}, 8, {}, False),
    ],
)
def test_traffic_drops_and_silence(rates, now_rates, stopped, history_days, drops, silent):
    hourly = _history(rates, history_days)
    verdict = assess_traffic(_recent(now_rates or rates, stopped), hourly, NOW, PARAMS)
    found = {
        d.operation: round((d.window_end - d.window_start).total_seconds() / 60)
        for d in verdict.drops
    }
    assert found == drops
    assert (verdict.silent is not None) is silent


def test_anomalies_are_a_warning_per_operation_and_a_critical_source():
    rates = {"commit": 10.0, "merge": 2.0}
    hourly = _history(rates)
    drop = assess_traffic(_recent(rates, {"commit": 5}), hourly, NOW, PARAMS)
    [one] = anomalies(drop, NOW)
    assert (one.kind, one.severity, one.operation_type) == (
        AnomalyKind.TRAFFIC_DROP,
        Severity.WARNING,
        "commit",
    )
    assert one.details["observed_count"] == 0
    assert one.details["usual_per_min"] == pytest.approx(10.0)
    quiet = assess_traffic(_recent(rates, {"commit": 10, "merge": 10}), hourly, NOW, PARAMS)
    [source] = anomalies(quiet, NOW)
    assert (source.kind, source.severity, source.operation_type) == (
        AnomalyKind.SOURCE_SILENT,
        Severity.CRITICAL,
        "*",
    )


@pytest.mark.parametrize(
    ("k", "mean", "expected"),
    [
        (0, 30.0, math.exp(-30.0)),
        (0, 0.0, 1.0),
        (1, 2.0, 3 * math.exp(-2.0)),
        (100, 10.0, 1.0),
    ],
)
def test_poisson_cdf(k, mean, expected):
    assert poisson_cdf(k, mean) == pytest.approx(expected, rel=1e-9)

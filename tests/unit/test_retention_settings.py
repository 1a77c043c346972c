"""`retention:` is checked against what perfbot reads back: a period shorter than a lookback,
a non-positive period or a batch longer than the budget is refused with its YAML path and the
minimum; the cleanup's batch size adapts to how long a batch took."""

from typing import Any

import pytest

from bot.cleanup import MIN_BATCH, next_batch_size
from bot.config import Settings
from bot.errors import ConfigError
from bot.humanize import approx, size


def test_defaults_are_accepted_and_documented_values() -> None:
    keep = Settings.load().retention
    assert {k: v.days for k, v in keep if hasattr(v, "days") and v.days} == {
        "metrics": 8,
        "merges": 90,
        "rollup_minute": 30,
        "rollup_hour": 400,
        "anomalies": 30,
        "correlations": 30,
        "alerts": 90,
        "deliveries": 30,
        "baselines": 400,
        "silences": 90,
        "job_runs": 30,
    }
    assert keep.batch_size == 10_000


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"retention": {"rollup_minute": "1h"}},
            "retention.rollup_minute: 1h is too short: correlation reads 2h of minute rollups "
            "(correlation.lookback) and detection the last 2h (keep at least 2h)",
        ),
        (
            {"retention": {"rollup_minute": "1d"}, "correlation": {"lookback": "2d"}},
            "retention.rollup_minute: 1d is too short: correlation reads 2d of minute rollups",
        ),
        (
            {"retention": {"rollup_hour": "3d"}},
            "retention.rollup_hour: 3d is too short: detection, degradation and baselines read "
            "hourly rollups over their lookbacks, and hourly rollups must outlive the minute "
            "rollups they summarise (keep at least 30d)",
        ),
        (
            {"retention": {"rollup_hour": "10d"}, "baselines": {"lookback": "14d"}},
            "(keep at least 30d)",
        ),
        (
            {"retention": {"rollup_minute": "2h", "rollup_hour": "7d"}},
            "(keep at least 7d1h)",
        ),
        (
            {"retention": {"anomalies": "3d"}},
            "retention.anomalies: 3d is too short: degradation is judged without the hours of "
            "the spikes found over degradation.lookback (keep at least 7d)",
        ),
        ({"retention": {"metrics": "10m"}}, "retention.metrics: 10m is too short"),
        (
            {"retention": {"metrics": "12h"}},
            "retention.metrics: 12h is too short: rows committed late are found by re-counting "
            "the raw rows of source.late_check (keep at least 1d)",
        ),
        (
            {"retention": {"metrics": "30m"}, "source": {"preset": "pggit"}},
            "retention.metrics: 30m is too short: late rows are rolled up",
        ),
        ({"retention": {"merges": "2d"}}, "retention.merges: 2d is too short"),
        ({"retention": {"job_runs": "2h"}}, "retention.job_runs: 2h is too short"),
        (
            {"retention": {"alerts": "30m"}, "alerts": {"recurrence_window": "2h"}},
            "retention.alerts: 30m is too short: the recurrence rule counts the alerts of "
            "alerts.recurrence_window (keep at least 2h)",
        ),
        ({"retention": {"deliveries": "0s"}}, "retention.deliveries: must be longer than 0s"),
        ({"retention": {"batch_size": 10}}, "retention.batch_size"),
        (
            {"retention": {"batch_seconds": "1h", "budget": "10m"}},
            "retention.batch_seconds: 1h is longer than retention.budget (10m)",
        ),
    ],
)
def test_nonsense_retention_is_refused(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.load(**overrides)
    assert expected in str(raised.value)


def test_longer_lookbacks_with_long_enough_retention_are_accepted() -> None:
    settings = Settings.load(
        correlation={"lookback": "2d"},
        retention={"rollup_minute": "2d", "rollup_hour": "30d", "metrics": "1d"},
    )
    assert Settings.load(retention={"metrics": "2h"}, source={"late_check": "1h"})
    assert settings.retention.rollup_minute.days == 2


@pytest.mark.parametrize(
    ("size_", "took", "expected"),
    [
        (10_000, 5.0, 5_000),  # slower than the 2 s goal: halved
        (10_000, 1.0, 10_000),  # within the goal: unchanged
        (5_000, 0.1, 10_000),  # quick: doubled
        (10_000, 0.1, 10_000),  # but never past batch_size
        (150, 9.0, MIN_BATCH),  # never below the minimum
    ],
)
def test_batch_size_adapts_to_batch_time(size_: int, took: float, expected: int) -> None:
    assert next_batch_size(size_, took, target_s=2.0, ceiling=10_000) == expected


@pytest.mark.parametrize(
    ("n_bytes", "text"),
    [(0, "0 B"), (999, "999 B"), (8_120, "8.1 kB"), (812_000, "812 kB"), (1_234_000_000, "1.2 GB")],
)
def test_sizes_are_written_in_decimal_units(n_bytes: int, text: str) -> None:
    assert size(n_bytes) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [(None, "–"), (0, "~0"), (950, "~950"), (12_400, "~12k"), (8_100_000, "~8.1M")],
)
def test_estimates_are_marked_approximate(n: int | None, text: str) -> None:
    assert approx(n) == text

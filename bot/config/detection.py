"""The analysis sections: `detection:`, `degradation:`, `correlation:` and `baselines:`.

Each is the YAML face of a parameter dataclass in `bot.analysis.params` plus its job's schedule
(`interval`, `cron`, `settle`). Defaults come from the dataclass, so they are written once, and
each section validates by building its dataclass (`bot.config.params.params`), so the ordering
checks (z_critical >= z_warning, info <= warning <= critical, critical >= threshold) are written
once too and still report with the section's YAML path."""

from datetime import timedelta

from pydantic import Field, field_validator, model_validator

from bot.analysis.params import (
    BaselineParams,
    CorrelationParams,
    DegradationParams,
    DetectionParams,
    Detector,
    TrafficParams,
)
from bot.config.params import params
from bot.config.section import Section
from bot.durations import Duration
from bot.models.operations import OperationLimits


class DetectionSettings(Section):
    """Spike detection every `interval`, on the minutes that are at least `settle` old; the
    operation-name caps of `OperationLimits` (new names past them are refused at ingest)."""

    interval: Duration = timedelta(seconds=60)
    lookback: Duration = DetectionParams.lookback
    z_warning: float = Field(default=DetectionParams.z_warning, gt=0)
    z_critical: float = Field(default=DetectionParams.z_critical, gt=0)
    min_samples: int = Field(default=DetectionParams.min_samples, ge=2)
    detector: Detector = DetectionParams.detector
    settle: Duration = timedelta(seconds=5)
    chunk_operations: int = Field(default=DetectionParams.chunk_operations, ge=1)
    # The whole source is `source_silent` after this long without a row while rows are due.
    silence_after: Duration = TrafficParams.silence_after
    # Replicas share detection: operations hash into this many shards, each claimed per cycle
    # with a lease of `shard_lease` (1: one replica scores every operation of a cycle).
    shards: int = Field(default=1, ge=1, le=4096)
    shard_lease: Duration = timedelta(seconds=60)
    max_operations: int = Field(default=OperationLimits.max_operations, ge=1)
    max_new_operations_per_hour: int = Field(
        default=OperationLimits.max_new_operations_per_hour, ge=0
    )

    @model_validator(mode="after")
    def _valid(self) -> "DetectionSettings":
        params(DetectionParams, self)
        return self


class DegradationSettings(Section):
    lookback: Duration = DegradationParams.lookback
    info_pct: float = Field(default=DegradationParams.info_pct, gt=0)
    warning_pct: float = Field(default=DegradationParams.warning_pct, gt=0)
    critical_pct: float = Field(default=DegradationParams.critical_pct, gt=0)
    min_samples: int = Field(default=DegradationParams.min_samples, ge=1)
    body_pct: float = Field(default=DegradationParams.body_pct, ge=0)

    @model_validator(mode="after")
    def _valid(self) -> "DegradationSettings":
        params(DegradationParams, self)
        return self


class CorrelationSettings(Section):
    """Every `interval`, correlate the operations degraded now (`CorrelationParams` explains
    the 2 h lookback)."""

    interval: Duration = timedelta(minutes=5)
    lookback: Duration = CorrelationParams.lookback
    threshold: float = Field(default=CorrelationParams.threshold, ge=0, le=1)
    critical: float = Field(default=CorrelationParams.critical, ge=0, le=1)
    min_buckets: int = Field(default=CorrelationParams.min_buckets, ge=3)
    max_pairs: int = Field(default=CorrelationParams.max_pairs, ge=1)

    @model_validator(mode="after")
    def _valid(self) -> "CorrelationSettings":
        params(CorrelationParams, self)
        return self


class BaselineSettings(Section):
    cron: str = "0 2 * * *"
    lookback: Duration = BaselineParams.lookback
    min_samples: int = Field(default=BaselineParams.min_samples, ge=1)
    min_change_pct: float = Field(default=BaselineParams.min_change_pct, ge=0)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("cron needs five fields: minute hour day month weekday")
        return value

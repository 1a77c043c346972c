"""What perfbot measures: one timed operation (`Metric`) and one pgGit merge (`MergeRecord`)."""

from enum import StrEnum

from pydantic import Field

from bot.models.common import Frozen, Text, Timestamp
from bot.models.operations import OperationName


class MergeStatus(StrEnum):
    SUCCESS = "SUCCESS"
    PARTIAL_SUCCESS = "PARTIAL_SUCCESS"
    FAILED = "FAILED"
    ABANDONED = "ABANDONED"
    CONFLICT = "CONFLICT"


class Metric(Frozen):
    """One timed operation."""

    operation_type: OperationName
    duration_ms: float = Field(ge=0, allow_inf_nan=False)
    recorded_at: Timestamp
    branch: Text | None = None
    user_name: Text | None = None


class MergeRecord(Frozen):
    """One pgGit merge: who merged which branches, how it ended, how long each phase took."""

    merge_id: Text | None = None
    source_branch: Text = Field(min_length=1)
    target_branch: Text = Field(min_length=1)
    status: MergeStatus
    strategy: Text | None = None
    conflicts: int = Field(default=0, ge=0)
    auto_resolved: int = Field(default=0, ge=0)
    auto_failed: int = Field(default=0, ge=0)
    base_find_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    conflict_detect_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    auto_resolve_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    total_ms: float = Field(ge=0, allow_inf_nan=False)
    started_at: Timestamp
    completed_at: Timestamp | None = None
    user_name: Text | None = None

"""The 33 pgGit operation types the original design tracked, with the typical latencies and
spreads the synthetic workload gives them.

Typical (median) latencies of the 11 schema-seeded operations are the seed's own
`typical_duration_ms`; the 22 bootstrap operations had only a category, so their medians are
chosen to be plausible for what each does (merge phases tens of ms, rollbacks and data-branch
work longer, compression the slowest), in line with the seed's bootstrap samples (merge_branches
50-100 ms, rollback_commit 20-200 ms). `sigma` is the log-normal spread of the body, wider for
writes and admin work than for reads."""

from dataclasses import dataclass


@dataclass(frozen=True)
class OperationSpec:
    """One operation type: name, category (READ/WRITE/ADMIN), median ms, ln-space spread."""

    name: str
    category: str
    typical_ms: float
    sigma: float


_READ, _WRITE, _ADMIN = 0.35, 0.45, 0.6

OPERATIONS: tuple[OperationSpec, ...] = (
    # Schema seed (typical ms from the seed).
    OperationSpec("commit", "WRITE", 5.0, _WRITE),
    OperationSpec("merge", "WRITE", 50.0, _WRITE),
    OperationSpec("rollback", "WRITE", 10.0, _WRITE),
    OperationSpec("branch_create", "WRITE", 2.0, _WRITE),
    OperationSpec("branch_delete", "WRITE", 1.0, _WRITE),
    OperationSpec("get_objects", "READ", 1.0, _READ),
    OperationSpec("get_history", "READ", 5.0, _READ),
    OperationSpec("get_branches", "READ", 0.5, _READ),
    OperationSpec("get_commits", "READ", 2.0, _READ),
    OperationSpec("conflict_detection", "WRITE", 20.0, _WRITE),
    OperationSpec("auto_resolution", "WRITE", 15.0, _WRITE),
    # Bootstrap (category from the seed, latency chosen here).
    OperationSpec("branch_checkout", "WRITE", 3.0, _WRITE),
    OperationSpec("get_object_timeline", "READ", 8.0, _READ),
    OperationSpec("get_object_at_time", "READ", 4.0, _READ),
    OperationSpec("ensure_object", "WRITE", 2.0, _WRITE),
    OperationSpec("create_history_partition", "ADMIN", 40.0, _ADMIN),
    OperationSpec("query_temporal_snapshots", "READ", 12.0, _READ),
    OperationSpec("merge_base_find", "READ", 8.0, _READ),
    OperationSpec("merge_conflict_detect", "READ", 20.0, _READ),
    OperationSpec("merge_auto_resolve", "WRITE", 15.0, _WRITE),
    OperationSpec("rollback_commit", "WRITE", 60.0, _WRITE),
    OperationSpec("rollback_cascade", "WRITE", 120.0, _WRITE),
    OperationSpec("rollback_dry_run", "READ", 25.0, _READ),
    OperationSpec("rollback_validate", "READ", 10.0, _READ),
    OperationSpec("rollback_recovery", "WRITE", 80.0, _WRITE),
    OperationSpec("merge_branches", "WRITE", 70.0, _WRITE),
    OperationSpec("merge_data_branches", "WRITE", 90.0, _WRITE),
    OperationSpec("merge_execute", "WRITE", 45.0, _WRITE),
    OperationSpec("merge_cleanup", "WRITE", 6.0, _WRITE),
    OperationSpec("create_data_branch", "WRITE", 30.0, _WRITE),
    OperationSpec("apply_data_merge", "WRITE", 55.0, _WRITE),
    OperationSpec("compress_branch", "ADMIN", 200.0, _ADMIN),
    OperationSpec("calculate_branch_size", "READ", 15.0, _READ),
)

OPERATION_NAMES: tuple[str, ...] = tuple(spec.name for spec in OPERATIONS)

# The three phases of one merge, slowed together by a merge-pipeline incident.
MERGE_PIPELINE: tuple[str, ...] = ("merge_base_find", "merge_conflict_detect", "merge_branches")

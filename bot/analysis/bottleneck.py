"""Bottleneck classes: what shared resource two (or more) correlated slowdowns point at, what
to do about it, and the clusters of correlated operations that one alert should cover.

The rules are the original design's, made symmetric and order-independent, and extended to the
operation names pgGit itself records: both operations merge-family (`merge`, `merge_*`, and
pgGit's merge steps `conflict_detection`, `auto_resolution`, `apply_data_merge`; the original's
`LIKE 'merge_%'` left plain `merge` out) -> MERGE_PIPELINE_SATURATION; both in {commit,
branch_create} -> OBJECT_STORAGE_IO; both in {get_history, get_object_timeline} ->
QUERY_CACHE_PRESSURE; both rollback-family (`rollback` or `rollback_*`) ->
TRANSACTION_LOG_SATURATION (the original tested only the first operation, so (rollback_x,
commit) and (commit, rollback_x) differed); anything else -> SHARED_RESOURCE_CONTENTION.
A group of operations gets a class when every operation in it satisfies that class's rule."""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from bot.models import BottleneckType, Correlation, Severity

OBJECT_STORAGE_OPS = frozenset({"commit", "branch_create"})
QUERY_CACHE_OPS = frozenset({"get_history", "get_object_timeline"})
# The steps of pgGit's merge (v0.1 functions and the merge-phase table's columns).
MERGE_STEPS = frozenset({"conflict_detection", "auto_resolution", "apply_data_merge"})

RECOMMENDATIONS: dict[BottleneckType, tuple[str, ...]] = {
    BottleneckType.MERGE_PIPELINE_SATURATION: (
        "Add merge worker threads.",
        "Optimise the conflict-detection algorithm.",
        "Cache merge results.",
    ),
    BottleneckType.OBJECT_STORAGE_IO: (
        "Check disk I/O capacity.",
        "Consider SSDs or a caching layer.",
        "Review buffer-pool tuning (shared_buffers).",
    ),
    BottleneckType.QUERY_CACHE_PRESSURE: (
        "Raise shared_buffers.",
        "Add a query-result cache (Redis or Memcached).",
    ),
    BottleneckType.TRANSACTION_LOG_SATURATION: (
        "Optimise WAL flushing.",
        "Use asynchronous commit for non-critical operations.",
        "Raise wal_buffers.",
    ),
    # The catch-all class also carries the original's advice for anything unclassified.
    BottleneckType.SHARED_RESOURCE_CONTENTION: (
        "Inspect pg_locks for lock contention.",
        "Profile CPU usage.",
        "Check memory pressure.",
        "Review connection pooling.",
        "Investigate with pg_stat_statements, pg_stat_database and system monitoring "
        "(CPU, disk I/O, memory).",
    ),
}


def is_merge_family(operation: str) -> bool:
    """`merge` itself, any `merge_*` operation, or one of pgGit's merge steps."""
    return operation == "merge" or operation.startswith("merge_") or operation in MERGE_STEPS


def is_rollback_family(operation: str) -> bool:
    """`rollback` itself or any `rollback_*` operation."""
    return operation == "rollback" or operation.startswith("rollback_")


def classify_group(operations: Collection[str]) -> BottleneckType:
    """The bottleneck class of a set of operations (order never matters)."""
    ops = set(operations)
    if ops and all(is_merge_family(op) for op in ops):
        return BottleneckType.MERGE_PIPELINE_SATURATION
    if ops and ops <= OBJECT_STORAGE_OPS:
        return BottleneckType.OBJECT_STORAGE_IO
    if ops and ops <= QUERY_CACHE_OPS:
        return BottleneckType.QUERY_CACHE_PRESSURE
    if ops and all(is_rollback_family(op) for op in ops):
        return BottleneckType.TRANSACTION_LOG_SATURATION
    return BottleneckType.SHARED_RESOURCE_CONTENTION


def classify(a: str, b: str) -> BottleneckType:
    """The bottleneck class of a correlated pair; classify(a, b) == classify(b, a)."""
    return classify_group((a, b))


@dataclass(frozen=True)
class BottleneckCluster:
    """Operations connected by correlated pairs: one bottleneck alert. `severity` and `max_r`
    are the strongest pair's; `operations` are sorted."""

    operations: tuple[str, ...]
    bottleneck: BottleneckType
    severity: Severity
    max_r: float
    pairs: tuple[Correlation, ...]
    recommendations: tuple[str, ...]


def components(correlations: Iterable[Correlation]) -> list[list[Correlation]]:
    """The correlated pairs split into connected groups of operations (merge_base_find -
    merge_conflict_detect - merge_branches is one group even if the outer two did not correlate
    directly), each group's pairs in their given order."""
    pairs = list(correlations)
    parent: dict[str, str] = {}

    def root(op: str) -> str:
        parent.setdefault(op, op)
        while parent[op] != op:
            parent[op] = parent[parent[op]]  # path halving keeps the trees flat
            op = parent[op]
        return op

    for pair in pairs:
        a, b = root(pair.operation_a), root(pair.operation_b)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[Correlation]] = {}
    for pair in pairs:
        groups.setdefault(root(pair.operation_a), []).append(pair)
    return list(groups.values())


def clusters(correlations: Sequence[Correlation]) -> list[BottleneckCluster]:
    """Group correlated pairs into connected components (see `components`), each classified as
    a whole. Returns clusters sorted by max r, strongest first."""
    found = []
    for pairs in components(correlations):
        ops = tuple(sorted({op for p in pairs for op in (p.operation_a, p.operation_b)}))
        kind = classify_group(ops)
        found.append(
            BottleneckCluster(
                operations=ops,
                bottleneck=kind,
                severity=max(p.severity for p in pairs),
                max_r=max(p.r for p in pairs),
                pairs=tuple(sorted(pairs, key=lambda p: -p.r)),
                recommendations=RECOMMENDATIONS[kind],
            )
        )
    return sorted(found, key=lambda c: (-c.max_r, c.operations))

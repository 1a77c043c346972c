"""Alert fingerprints: the identity under which repeats of one problem share one open alert.

A fingerprint is `family:operations` or, for bottlenecks, `bottleneck:TYPE:operations`, where
family is `AlertKind.family` and operations are sorted and distinct, so the same problem found
in any order gets the same string:

* `anomaly:commit`: statistical, threshold and combined spikes of one operation are one
  problem (a spike seen by two detectors must not page twice), so they share the family;
* `degradation:get_history`: a slow drift is a different problem from a spike, with a
  different runbook, and gets its own alert;
* `bottleneck:MERGE_PIPELINE_SATURATION:merge_base_find,merge_branches,merge_conflict_detect`:
  a shared cause across operations. A group that gains an operation is a new fingerprint; the
  old alert goes quiet and auto-resolves.

An external alert (Alertmanager's) is `external:<its source's fingerprint>`: the source already
identifies one problem by its label set, and re-sends of it update one alert.

Operation names are percent-escaped for `%`, `,` and `:` so that the parts never run together."""

from collections.abc import Iterable

from bot.models import AlertKind, BottleneckType


def _escape(operation: str) -> str:
    return operation.replace("%", "%25").replace(",", "%2C").replace(":", "%3A")


def fingerprint(
    kind: AlertKind, operations: Iterable[str], bottleneck: BottleneckType | None = None
) -> str:
    """The stable fingerprint of an alert about `operations` (any order, repeats ignored)."""
    ops = ",".join(_escape(op) for op in sorted(set(operations)))
    if bottleneck is not None:
        return f"{kind.family}:{bottleneck.value}:{ops}"
    return f"{kind.family}:{ops}"


def external_fingerprint(key: str) -> str:
    """The fingerprint of an external alert whose source identifies it by `key`."""
    return f"external:{key}"

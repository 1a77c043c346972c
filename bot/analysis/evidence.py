"""Evidence: what one spike rule (z-score, robust, threshold) concluded about every operation in
one detection cycle, as arrays indexed by op code.

Each rule fills the same shape, so `bot.analysis.detection` can pick, per operation, the most
explanatory finding and keep the others' facts in the anomaly's details, and `score_series` can
turn the same numbers into a score in [0, 1]."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.analysis.histogram import FloatArray, IntArray
from bot.models import Severity

SEVERITY_CODES = {1: Severity.WARNING, 2: Severity.CRITICAL}


@dataclass(frozen=True, eq=False)
class Evidence:
    """Per-operation verdicts of one rule.

    `severity`: 0 none, 1 WARNING, 2 CRITICAL. `z`: the rule's signed statistic (NaN where not
    evaluated). `strength`: the evidence relative to the rule's WARNING bar, so >= 1 is at or
    past it; below 1 when an effect-size floor was not met even if the statistic was; 0 where not
    evaluated. `value_ms`: the worst duration in the scored window. `deviation_pct`: how far the
    window is from normal, in % (each rule says against what). `window_s`: the scored window's
    length in seconds. `facts`: extra per-operation numbers for the anomaly's details."""

    rule: str
    operations: tuple[str, ...]
    severity: IntArray
    z: FloatArray
    strength: FloatArray
    samples: IntArray
    outliers: IntArray
    value_ms: FloatArray
    deviation_pct: FloatArray
    window_s: IntArray
    facts: Mapping[str, FloatArray]

    def severity_of(self, code: int) -> Severity | None:
        """The severity for op code `code`, None when the rule did not fire."""
        return SEVERITY_CODES.get(int(self.severity[code]))

    def details(self, code: int) -> dict[str, Any]:
        """The finding for op code `code` as plain JSON-ready values."""
        found: dict[str, Any] = {
            "rule": self.rule,
            "severity": None if (s := self.severity_of(code)) is None else s.value,
            "z": _plain(self.z[code]),
            "value_ms": _plain(self.value_ms[code]),
            "deviation_pct": _plain(self.deviation_pct[code]),
            "outliers": int(self.outliers[code]),
            "samples": int(self.samples[code]),
            "window_s": int(self.window_s[code]),
        }
        found.update({name: _plain(values[code]) for name, values in self.facts.items()})
        return found


def score(strength: FloatArray) -> FloatArray:
    """Map rule strength to [0, 1): 0 for no evidence, 0.5 exactly at the WARNING bar,
    approaching 1 as evidence grows (s / (1 + s))."""
    s = np.nan_to_num(np.maximum(strength, 0.0))
    result: FloatArray = s / (1.0 + s)
    return result


def _plain(value: Any) -> float | None:
    number = float(value)
    return None if not np.isfinite(number) else round(number, 4)

"""The evidence an alert's card shows (every channel's renderer, and `/perf alert`), one facts
model per kind, from `alert.details`: what made the detector fire, in the detector's own terms,
and nothing that contradicts the severity.

- spike (statistical, combined; robust detector): the window's median against the usual median
  for this hour, the ratio, the share of requests above the old p99, the window's length and the
  strength in standard errors; (z-score detector): the worst request against the reference mean
  and its spread, in standard deviations;
- threshold: the worst request and the threshold it crossed, how many requests crossed it;
- degradation (and the degradation part of a combined alert): p99 then and now, over how long,
  the slope;
- bottleneck: the members, the strongest r and the class (its recommendations are listed by the
  renderers).

The detector's per-rule findings are in `details["statistical"]`, `details["threshold"]` and
`details["degradation"]` (`bot.routing.candidate.from_anomaly`); alerts stored before those were
kept fall back to the flat numbers. Every reader copes with a missing or mistyped key. Plain text;
outside text goes through `esc`."""

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.humanize import ms, period, plural
from bot.models import Alert, AlertKind

Fact = tuple[str, str]
Escape = Callable[[str], str]


def _same(text: str) -> str:
    return text


def number(details: Mapping[str, Any], key: str) -> float | None:
    """`details[key]` as a finite float, or None when absent, not a number, or NaN/infinite."""
    value = details.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        result = float(value)
    except ValueError:
        return None
    return result if math.isfinite(result) else None


def _part(details: Mapping[str, Any], key: str) -> dict[str, Any]:
    found = details.get(key)
    return found if isinstance(found, dict) else {}


def _moment(details: Mapping[str, Any], key: str) -> datetime | None:
    value = details.get(key)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _ratio(value: float) -> str:
    return f"×{value:.1f}" if value < 10 else f"×{value:.0f}"


def _share(count: float, total: float) -> str:
    pct = 100.0 * count / total if total > 0 else 0.0
    return f"{count:,.0f} of {plural(int(total), 'request')} ({pct:.0f} %)"


def spike(details: Mapping[str, Any]) -> list[Fact]:
    """A spike's evidence (statistical or the spike half of combined)."""
    found = _part(details, "statistical")
    out: list[Fact] = []
    if found.get("rule") == "robust":
        median, usual = number(found, "window_median_ms"), number(found, "expected_median_ms")
        if median is not None and usual is not None and usual > 0:
            out.append(
                (
                    "Window median",
                    f"{ms(median)} vs {ms(usual)} usual for this hour ({_ratio(median / usual)})",
                )
            )
        above, samples = number(found, "outliers"), number(found, "samples")
        if above is not None and samples:
            out.append(("Above the old p99", _share(above, samples)))
        z = number(found, "z")
        if z is not None:
            out.append(("Strength", f"{z:.1f} standard errors above usual"))
    elif found.get("rule") == "zscore":
        worst, mean = number(found, "value_ms"), number(found, "reference_mean_ms")
        sd = number(found, "reference_std_ms")
        if worst is not None and mean is not None:
            spread = "" if sd is None else f" ± {ms(sd)}"
            out.append(("Worst request", f"{ms(worst)} vs reference mean {ms(mean)}{spread}"))
        z = number(found, "z")
        if z is not None:
            out.append(("Distance", f"{z:.1f} standard deviations from the mean"))
        above, samples = number(found, "outliers"), number(found, "samples")
        if above is not None and samples:
            out.append(("Outliers", _share(above, samples)))
    else:
        return _flat(details)
    window = number(found, "window_s")
    if window:
        out.append(("Window", period(window)))
    return out


def _flat(details: Mapping[str, Any]) -> list[Fact]:
    """A spike stored before the per-rule findings were kept: the worst request and the
    baseline, no rule-specific figure (the old `z_score` was not a z of one rule)."""
    out: list[Fact] = []
    worst, p99 = number(details, "value_ms"), number(details, "baseline_p99_ms")
    if worst is not None:
        tail = "" if p99 is None else f" (baseline p99 {ms(p99)})"
        out.append(("Worst request", ms(worst) + tail))
    samples = number(details, "samples")
    if samples:
        out.append(("Requests scored", f"{samples:,.0f}"))
    return out


def _either(found: Mapping[str, Any], details: Mapping[str, Any], key: str) -> float | None:
    value = number(found, key)
    return number(details, key) if value is None else value


def threshold(details: Mapping[str, Any]) -> list[Fact]:
    found = _part(details, "threshold")
    worst = _either(found, details, "value_ms")
    line = _either(found, details, "threshold_ms")
    p99 = _either(found, details, "baseline_p99_ms")
    out: list[Fact] = []
    if worst is not None and line is not None:
        out.append(("Worst request", f"{ms(worst)} over the threshold {ms(line)}"))
    elif worst is not None:
        out.append(("Worst request", ms(worst)))
    if p99 is not None:
        out.append(("Baseline p99", ms(p99)))
    above, samples = number(found, "outliers"), number(found, "samples")
    if above is not None and samples:
        out.append(("Over the threshold", _share(above, samples)))
    window = number(found, "window_s")
    if window:
        out.append(("Window", period(window)))
    return out


def degradation(details: Mapping[str, Any]) -> list[Fact]:
    found = _part(details, "degradation")
    before, after = number(found, "p99_before_ms"), number(found, "p99_after_ms")
    pct = _either(found, details, "degradation_pct")
    out: list[Fact] = []
    if before is not None and after is not None:
        rise = "" if pct is None else f" ({pct:+.0f} %)"
        out.append(("p99", f"{ms(before)} then, {ms(after)} now{rise}"))
    elif pct is not None:
        out.append(("p99 change", f"{pct:+.0f} %"))
    start, end = _moment(details, "window_start"), _moment(details, "window_end")
    if start is not None and end is not None and end > start:
        text = period((end - start).total_seconds())
        split = _moment(found, "midpoint")
        if split is not None:
            text += f", before vs after {split.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        out.append(("Compared over", text))
    slope = number(found, "trend_slope_ms_per_day")
    if slope is None:
        slope = number(details, "trend_slope")
    if slope is not None:
        out.append(("Slope", f"{slope:+.3g} ms/day"))
    confidence = _either(found, details, "confidence")
    if confidence is not None:
        out.append(("Confidence", f"{confidence:.2f}"))
    return out


def bottleneck(alert: Alert, esc: Escape = _same) -> list[Fact]:
    details = alert.details
    members = ", ".join(esc(op) for op in sorted(alert.operation_types))
    out: list[Fact] = [("Members", members or "(none)")]
    if alert.bottleneck is not None:
        out.append(("Class", alert.bottleneck.value))
    r = number(details, "r")
    if r is not None:
        text = f"{r:.2f}"
        pairs = details.get("pairs")
        if isinstance(pairs, list) and pairs and isinstance(pairs[0], dict):
            top = pairs[0]
            if "a" in top and "b" in top:
                text += f" ({esc(str(top['a']))} ↔ {esc(str(top['b']))}"
                n = number(top, "n")
                text += ")" if n is None else f", {plural(int(n), 'minute')})"
        out.append(("Strongest r", text))
    return out


def traffic(details: Mapping[str, Any]) -> list[Fact]:
    """A traffic drop's (or a silent source's) rate vs usual: `3 requests in 15 min (0.2/min)
    vs usual 150 (10/min)`."""
    seen, usual = number(details, "observed_count"), number(details, "expected_count")
    window = number(details, "window_min")
    if seen is None or usual is None or window is None or window <= 0:
        return []
    noun = "request" if seen == 1 else "requests"
    line = (
        f"{seen:.0f} {noun} in {window:.0f} min ({seen / window:.2g}/min)"
        f" vs usual {usual:.0f} ({usual / window:.2g}/min)"
    )
    return [("Traffic", line)]


def evidence(alert: Alert, esc: Escape = _same) -> list[Fact]:
    """The facts that made this alert fire, most telling first; only the known ones."""
    details = alert.details
    if alert.kind is AlertKind.BOTTLENECK:
        return bottleneck(alert, esc)
    if alert.kind is AlertKind.DEGRADATION:
        return degradation(details)
    if alert.kind is AlertKind.THRESHOLD:
        return threshold(details)
    if alert.kind is AlertKind.STATISTICAL:
        return spike(details)
    if alert.kind in (AlertKind.TRAFFIC_DROP, AlertKind.SOURCE_SILENT):
        return traffic(details)
    if alert.kind is AlertKind.COMBINED:
        return spike(details) + [
            (f"Degradation {k[0].lower()}{k[1:]}", v) for k, v in degradation(details)
        ]
    value = number(details, "value_ms")
    return [] if value is None else [("Value", ms(value))]


def one_line(alert: Alert, esc: Escape = _same) -> str | None:
    """The first piece of evidence as `Window median: 29.8 ms vs 4.93 ms usual …`, for thread
    replies; None when nothing is known."""
    found = evidence(alert, esc)
    return None if not found else f"{found[0][0]}: {found[0][1]}"

"""The evidence model of each alert kind (`bot.cards`), and the figures it must not show."""

import json
from datetime import timedelta
from typing import Any

import pytest
from rich.console import Console

from bot import cards as card
from bot import humanize
from bot.models import AlertKind, BottleneckType, Severity
from bot.notify import (
    console_render,
    email_render,
    mattermost_render,
    pagerduty_render,
    slack_render,
    webhook_render,
)
from bot.notify import facts as f
from bot.notify.mattermost_sign import Binding, Signer
from tests.unit.notify.factories import T0, make_alert, make_bottleneck, make_notification

ROBUST = {
    "rule": "robust",
    "z": 4.71,
    "outliers": 1,
    "samples": 1,
    "window_s": 60,
    "window_median_ms": 343.0,
    "expected_median_ms": 50.0,
}
ZSCORE = {
    "rule": "zscore",
    "z": 5.21,
    "value_ms": 812.0,
    "outliers": 7,
    "samples": 120,
    "window_s": 60,
    "reference_mean_ms": 120.5,
    "reference_std_ms": 30.0,
}
LINE = {
    "rule": "threshold",
    "value_ms": 812.0,
    "threshold_ms": 600.0,
    "baseline_p99_ms": 240.0,
    "outliers": 3,
    "samples": 120,
    "window_s": 300,
}
DRIFT = {
    "midpoint": "2026-11-28T18:00:00+00:00",
    "p99_before_ms": 18.9,
    "p99_after_ms": 30.8,
    "degradation_pct": 63.1,
    "trend_slope_ms_per_day": 3.97,
    "confidence": 0.91,
}
SPAN = {"window_start": T0.isoformat(), "window_end": (T0 + timedelta(days=3)).isoformat()}
# the flat numbers every old alert carries, some of which contradicted a WARNING robust card
FLAT = {"value_ms": 343.0, "baseline_p99_ms": 218.0, "threshold_ms": 437.0, "z_score": 4.71}


@pytest.mark.parametrize(
    ("kind", "details", "expected"),
    [
        (
            AlertKind.STATISTICAL,
            {**FLAT, "statistical": ROBUST, "threshold": LINE},
            [
                ("Window median", "343 ms vs 50.0 ms usual for this hour (×6.9)"),
                ("Above the old p99", "1 of 1 request (100 %)"),
                ("Strength", "4.7 standard errors above usual"),
                ("Window", "1 min"),
            ],
        ),
        (
            AlertKind.STATISTICAL,
            {**FLAT, "statistical": ZSCORE},
            [
                ("Worst request", "812 ms vs reference mean 120 ms ± 30.0 ms"),
                ("Distance", "5.2 standard deviations from the mean"),
                ("Outliers", "7 of 120 requests (6 %)"),
                ("Window", "1 min"),
            ],
        ),
        (
            AlertKind.STATISTICAL,  # stored before the findings were kept
            {**FLAT, "samples": 40},
            [("Worst request", "343 ms (baseline p99 218 ms)"), ("Requests scored", "40")],
        ),
        (
            AlertKind.THRESHOLD,
            {**FLAT, "statistical": ROBUST, "threshold": LINE},
            [
                ("Worst request", "812 ms over the threshold 600 ms"),
                ("Baseline p99", "240 ms"),
                ("Over the threshold", "3 of 120 requests (2 %)"),
                ("Window", "5 min"),
            ],
        ),
        (
            AlertKind.DEGRADATION,
            {**FLAT, **SPAN, "degradation": DRIFT},
            [
                ("p99", "18.9 ms then, 30.8 ms now (+63 %)"),
                ("Compared over", "3.0 days, before vs after 2026-11-28 18:00 UTC"),
                ("Slope", "+3.97 ms/day"),
                ("Confidence", "0.91"),
            ],
        ),
        (
            AlertKind.COMBINED,
            {"statistical": ROBUST, "degradation": {"p99_before_ms": 10.0, "p99_after_ms": 12.0}},
            [
                ("Window median", "343 ms vs 50.0 ms usual for this hour (×6.9)"),
                ("Above the old p99", "1 of 1 request (100 %)"),
                ("Strength", "4.7 standard errors above usual"),
                ("Window", "1 min"),
                ("Degradation p99", "10.0 ms then, 12.0 ms now"),
            ],
        ),
        (AlertKind.EXTERNAL, {"labels": {"a": "b"}}, []),
    ],
)
def test_evidence_per_kind(kind: AlertKind, details: dict[str, Any], expected: list[Any]) -> None:
    alert = make_alert(kind=kind, details=details, severity=Severity.WARNING)
    assert card.evidence(alert) == expected
    shown = " ".join(value for _, value in f.facts(make_notification(alert=alert)))
    if kind is not AlertKind.THRESHOLD:
        assert "threshold" not in shown  # a rule that did not fire shows no line of its own
    assert "Z-score" not in {label for label, _ in f.facts(make_notification(alert=alert))}


def test_bottleneck_evidence_is_members_class_and_strongest_pair_never_a_members_value() -> None:
    alert = make_bottleneck(
        operation_types=("merge_conflict_detect", "merge_base_find"),
        bottleneck=BottleneckType.MERGE_PIPELINE_SATURATION,
        details={
            "r": 0.93,
            "value_ms": 5.0,  # a member's baseline, which the old card called the "Value"
            "pairs": [{"a": "merge_base_find", "b": "merge_conflict_detect", "r": 0.93, "n": 1}],
        },
    )
    assert card.evidence(alert) == [
        ("Members", "merge_base_find, merge_conflict_detect"),
        ("Class", "MERGE_PIPELINE_SATURATION"),
        ("Strongest r", "0.93 (merge_base_find ↔ merge_conflict_detect, 1 minute)"),
    ]
    assert "Value" not in dict(f.facts(make_notification(alert=alert)))


def test_evidence_copes_with_mistyped_details() -> None:
    alert = make_alert(
        details={"statistical": {"rule": "robust", "window_median_ms": "x", "z": float("nan")}}
    )
    assert card.evidence(alert) == []
    assert card.one_line(alert) is None


@pytest.mark.parametrize(
    ("n", "word", "expected"),
    [
        (0, "alert", "0 alerts"),
        (1, "occurrence", "1 occurrence"),
        (2, "occurrence", "2 occurrences"),
        (1, "metric", "1 metric"),
        (12_000, "row", "12,000 rows"),
        (1, "day", "1 day"),
        (3, "child", "3 children"),
    ],
)
def test_plural(n: int, word: str, expected: str) -> None:
    many = "children" if word == "child" else None
    assert humanize.plural(n, word, many) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (45, "45 s"),
        (60, "1 min"),
        (300, "5 min"),
        (3600, "1 h"),
        (4800, "1 h 20 min"),
        (3 * 86400, "3.0 days"),
        (12 * 86400, "12 days"),
        (float("nan"), "–"),
    ],
)
def test_period(seconds: float, expected: str) -> None:
    assert humanize.period(seconds) == expected


def _every_channel(notification: Any) -> dict[str, str]:
    """The text each channel would send for `notification`, as one string per channel."""
    console = Console(record=True, width=160, force_terminal=False)
    console.print(console_render.render(notification))
    mail = email_render.render(notification, sender="perfbot@example.com", to=["a@example.com"])
    post = mattermost_render.render(
        notification,
        actions_url="http://127.0.0.1:3000/mattermost/actions",
        signer=Signer("s", 3600),
        binding=Binding("channel", "c1"),
        now=1_700_000_000.0,
    )
    return {
        "slack": json.dumps(slack_render.render(notification), ensure_ascii=False),
        "mattermost": json.dumps(post, ensure_ascii=False),
        "email": email_render.text_body(notification) + email_render.html_body(notification),
        "console": console.export_text(),
        "pagerduty": json.dumps(pagerduty_render.render(notification, "rk"), ensure_ascii=False),
        "webhook": webhook_render.body(notification, "d1").decode(),
        "mail headers": str(mail["Subject"]),
    }


@pytest.mark.parametrize(
    "channel", ["slack", "mattermost", "email", "console", "pagerduty", "webhook"]
)
@pytest.mark.parametrize(
    ("alert", "shown", "absent"),
    [
        (
            make_alert(
                kind=AlertKind.DEGRADATION,
                severity=Severity.WARNING,
                details={**FLAT, **SPAN, "degradation": DRIFT},
            ),
            ["18.9 ms then, 30.8 ms now (+63 %)", "3.0 days", "+3.97 ms/day"],
            ["Outliers", "437 ms"],
        ),
        (
            make_alert(severity=Severity.WARNING, details={**FLAT, "statistical": ROBUST}),
            ["343 ms vs 50.0 ms usual for this hour (×6.9)", "1 of 1 request (100 %)"],
            ["threshold 437 ms", "Z-score"],
        ),
        (
            make_bottleneck(details={"r": 0.93, "value_ms": 5.0, "recommendations": ["Look"]}),
            ["branch_create, commit", "OBJECT_STORAGE_IO", "0.93"],
            ["5.00 ms"],
        ),
    ],
)
def test_every_channel_shows_the_evidence_and_nothing_contradicting_it(
    channel: str, alert: Any, shown: list[str], absent: list[str]
) -> None:
    text = _every_channel(make_notification(alert=alert))[channel]
    for piece in shown:
        assert piece in text, (channel, piece)
    for piece in absent:
        assert piece not in text, (channel, piece)


def test_escalation_card_names_step_and_target_on_the_console() -> None:
    alert = make_alert(escalation_step=1)
    text = _every_channel(make_notification("escalated", alert))["console"]
    assert "escalated to step 1 of 2: notified dba-pager; mentioned dba-oncall" in text
    assert "escalated: escalated" not in text
    repeat = make_notification("repeat", make_alert(occurrences=1))
    assert ", 1 occurrence, last at" in f.thread_text(repeat)

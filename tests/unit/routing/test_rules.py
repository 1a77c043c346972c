from datetime import timedelta

import pytest
from pydantic import ValidationError

from bot import errors
from bot.config import Settings, build
from bot.models import AlertKind, BottleneckType, EscalationStep, Severity
from bot.routing.rules import RouteQuery, resolve
from tests.unit.routing.factories import ALL_CHANNELS, make_candidate, minutes, route

CRIT, WARN, INFO = Severity.CRITICAL, Severity.WARNING, Severity.INFO
MERGE = BottleneckType.MERGE_PIPELINE_SATURATION


def query(
    severity: Severity = WARN,
    kind: AlertKind = AlertKind.STATISTICAL,
    ops: tuple[str, ...] = ("commit",),
    bottleneck: BottleneckType | None = None,
) -> RouteQuery:
    return RouteQuery(severity, kind, ops, bottleneck)


ROUTES = [
    route("critical", match={"severity": "CRITICAL"}, notify=["oncall-mm", "oncall-slack"]),
    route(
        "merges",
        match={"operation": "merge*", "kind": "anomaly"},
        notify=["dba-email"],
        escalation=[{"after": "10m", "notify": ["pager"], "mention": ["@dba-oncall"]}],
    ),
    route("storage", match={"bottleneck": "OBJECT_STORAGE_IO"}, notify=["pager"]),
    route("drift", match={"kind": ["degradation"], "severity": ["WARNING"]}, notify=["oncall-mm"]),
]


@pytest.mark.parametrize(
    ("subject", "expected_route", "expected_channels"),
    [
        (query(CRIT), "critical", ("oncall-mm", "oncall-slack")),
        (query(WARN, ops=("merge_branches",)), "merges", ("dba-email",)),
        (query(WARN, AlertKind.THRESHOLD, ("merge",)), "merges", ("dba-email",)),
        (query(WARN, AlertKind.COMBINED, ("merge_base_find",)), "merges", ("dba-email",)),
        # degradation is not in the anomaly family
        (query(WARN, AlertKind.DEGRADATION, ("merge_branches",)), "drift", ("oncall-mm",)),
        # a multi-operation alert matches when any operation matches the glob
        (query(WARN, AlertKind.STATISTICAL, ("commit", "merge_execute")), "merges", ("dba-email",)),
        (query(INFO, ops=("rollback_commit",)), "default", ("oncall-slack",)),
        (
            query(
                WARN,
                AlertKind.BOTTLENECK,
                ("branch_create", "commit"),
                BottleneckType.OBJECT_STORAGE_IO,
            ),
            "storage",
            ("pager",),
        ),
        # the bottleneck matcher never catches an alert without a bottleneck (seed bug 19)
        (query(WARN, AlertKind.STATISTICAL, ("commit",)), "default", ("oncall-mm", "oncall-slack")),
        (
            query(WARN, AlertKind.BOTTLENECK, ("merge", "merge_x"), MERGE),
            "default",
            ("oncall-mm", "oncall-slack"),
        ),
    ],
)
def test_first_matching_route_wins(
    subject: RouteQuery, expected_route: str, expected_channels: tuple[str, ...]
) -> None:
    decision = resolve(subject, ROUTES, ALL_CHANNELS)
    assert (decision.route, decision.channels) == (expected_route, expected_channels)


def test_globs_are_case_sensitive_shell_patterns() -> None:
    routes = [
        route("hist", match={"operation": ["get_?istory", "rollback_[cd]*"]}, notify=["oncall-mm"])
    ]
    hits = [
        op
        for op in (
            "get_history",
            "get_HISTORY",
            "rollback_commit",
            "rollback_validate",
            "rollback_dry_run",
        )
        if resolve(query(ops=(op,)), routes, ALL_CHANNELS).route == "hist"
    ]
    assert hits == ["get_history", "rollback_commit", "rollback_dry_run"]


def test_continue_accumulates_channels_and_takes_first_escalation() -> None:
    routes = [
        route("audit", notify=["audit-hook", "oncall-slack"], **{"continue": True}),
        route(
            "no-escalation",
            match={"severity": "WARNING"},
            notify=["oncall-slack", "oncall-mm"],
            **{"continue": True},
        ),
        route(
            "first-escalation",
            match={"kind": "anomaly"},
            notify=["dba-email"],
            escalation=[{"after": "5m", "notify": ["pager"]}],
            **{"continue": True},
        ),
        route(
            "second-escalation",
            notify=["oncall-mm"],
            escalation=[{"after": "1m", "notify": ["dba-email"]}],
        ),
        route("never", notify=["terminal"]),
    ]
    decision = resolve(query(), routes, ALL_CHANNELS)
    assert decision.matched == ("audit", "no-escalation", "first-escalation", "second-escalation")
    assert decision.channels == ("audit-hook", "oncall-slack", "oncall-mm", "dba-email")
    assert decision.plan.steps == (EscalationStep(after=minutes(5), notify=("pager",)),)
    assert (
        decision.route
        == decision.plan.route
        == "audit+no-escalation+first-escalation+second-escalation"
    )
    assert decision.explanation[-2].startswith("route 'never' (#5): not tried")


def test_decision_is_deterministic_and_explained() -> None:
    first = resolve(query(WARN, ops=("merge_branches",)), ROUTES, ALL_CHANNELS)
    assert first == resolve(query(WARN, ops=("merge_branches",)), ROUTES, ALL_CHANNELS)
    assert first.explanation == [
        "route 'critical' (#1): no match: severity WARNING does not match [CRITICAL]",
        "route 'merges' (#2): matched: kind statistical matches [anomaly]; operation merge_branches matches [merge*] → dba-email; stop",
        "route 'storage' (#3): not tried (an earlier route matched without continue)",
        "route 'drift' (#4): not tried (an earlier route matched without continue)",
        "escalation from route 'merges': after 10m → pager (mention @dba-oncall)",
    ]


def test_unknown_channel_is_kept_and_explained() -> None:
    decision = resolve(query(), [route("typo", notify=["oncal-slack"])], ALL_CHANNELS)
    assert decision.channels == ("oncal-slack",)
    assert any("unknown channel(s) oncal-slack" in line for line in decision.explanation)


def test_route_with_no_escalation_gets_none_even_if_default_would() -> None:
    decision = resolve(query(WARN), [route("quiet", notify=["oncall-slack"])], ALL_CHANNELS)
    assert decision.plan.steps == ()
    assert decision.explanation[-1] == "escalation: none (no matching route defines one)"


@pytest.mark.parametrize(
    ("severity", "channels", "expected"),
    [
        (CRIT, ALL_CHANNELS, ("oncall-mm", "oncall-slack", "dba-email")),
        (WARN, ALL_CHANNELS, ("oncall-mm", "oncall-slack")),
        (INFO, ALL_CHANNELS, ("oncall-slack",)),
        # pagerduty is never a first page; console takes it when nothing else fits
        (
            CRIT,
            {"pager": ALL_CHANNELS["pager"], "terminal": ALL_CHANNELS["terminal"]},
            ("terminal",),
        ),
        (
            INFO,
            {"oncall-mm": ALL_CHANNELS["oncall-mm"], "terminal": ALL_CHANNELS["terminal"]},
            ("terminal",),
        ),
        (WARN, {"pager": ALL_CHANNELS["pager"], "audit-hook": ALL_CHANNELS["audit-hook"]}, ()),
        (CRIT, {}, ()),
    ],
)
def test_fallback_per_severity(
    severity: Severity, channels: dict[str, object], expected: tuple[str, ...]
) -> None:
    decision = resolve(query(severity), [], channels)  # type: ignore[arg-type]
    assert (decision.route, decision.channels) == ("default", expected)
    assert decision.explanation[0].startswith(f"no route matched: default for {severity}")
    if not expected:
        assert "nobody will be notified" in decision.explanation[0]


def test_fallback_picks_channels_by_type_in_config_order() -> None:
    channels = {
        "slack-b": ALL_CHANNELS["oncall-slack"],
        "mail": ALL_CHANNELS["dba-email"],
        "slack-a": ALL_CHANNELS["oncall-slack"],
        "mm": ALL_CHANNELS["oncall-mm"],
    }
    assert resolve(query(CRIT), [], channels).channels == ("mm", "slack-b", "slack-a", "mail")


@pytest.mark.parametrize(
    ("severity", "expected_steps"),
    [
        (CRIT, (EscalationStep(after=timedelta(0), notify=("pager",)),)),
        (WARN, (EscalationStep(after=minutes(10), notify=("dba-email", "pager")),)),
        (INFO, (EscalationStep(after=minutes(30), notify=("oncall-mm",)),)),
    ],
)
def test_default_escalation_per_severity(
    severity: Severity, expected_steps: tuple[EscalationStep, ...]
) -> None:
    assert resolve(query(severity), [], ALL_CHANNELS).plan.steps == expected_steps


def test_default_escalation_omitted_when_tier_adds_nothing() -> None:
    only_slack = {"s": ALL_CHANNELS["oncall-slack"]}
    decision = resolve(query(WARN), [], only_slack)
    assert decision.plan.steps == ()
    assert "no escalation" in decision.explanation[-1]


def test_repeat_interval_is_frozen_into_the_plan() -> None:
    decision = resolve(query(), [], ALL_CHANNELS, repeat_every=minutes(15))
    assert decision.plan.repeat_every == minutes(15)


def test_candidates_route_like_queries() -> None:
    candidate = make_candidate(operation_types=("merge_branches",))
    assert resolve(candidate, ROUTES, ALL_CHANNELS).route == "merges"


@pytest.mark.parametrize(
    "escalation",
    [
        [{"after": "10m", "notify": ["pager"]}, {"after": "5m", "notify": ["dba-email"]}],
        [{"after": "-1m", "notify": ["pager"]}],
    ],
)
def test_route_rejects_escalation_out_of_order(escalation: list[dict[str, object]]) -> None:
    with pytest.raises(ValidationError, match="escalation"):
        route("bad", escalation=escalation)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("crit", "anomaly", ["commit"], None), query(CRIT, AlertKind.STATISTICAL, ("commit",))),
        (
            ("warning", "Degradation", ["a", "b", "a"], None),
            query(WARN, AlertKind.DEGRADATION, ("a", "b")),
        ),
        (
            ("INFO", "bottleneck", ["merge"], "merge_pipeline_saturation"),
            query(INFO, AlertKind.BOTTLENECK, ("merge",), MERGE),
        ),
    ],
)
def test_route_query_parses_command_words(
    words: tuple[str, str, list[str], str | None], expected: RouteQuery
) -> None:
    assert RouteQuery.parse(*words) == expected


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("severe", "anomaly", ["x"], None), "unknown severity 'severe'"),
        (("warn", "spike", ["x"], None), "unknown kind 'spike'"),
        (("warn", "bottleneck", ["x"], "DISK"), "unknown bottleneck 'DISK'"),
    ],
)
def test_route_query_rejects_bad_words(
    words: tuple[str, str, list[str], str | None], message: str
) -> None:
    with pytest.raises(errors.BadArguments, match=message):
        RouteQuery.parse(*words)


def test_router_from_settings_uses_all_channels_and_repeat() -> None:
    settings = Settings.model_validate(
        {
            "channels": {
                "mm": {"type": "mattermost", "channel_id": "x"},
                "pd": {"type": "pagerduty"},
            },
            "routes": [{"name": "merges", "match": {"operation": "merge*"}, "notify": ["pd"]}],
            "alerts": {"repeat_every": "20m"},
        }
    )
    router = build.router(settings)
    assert router.resolve(query(ops=("merge",))).channels == ("pd",)
    fallback = router.resolve(query(WARN))
    assert (fallback.channels, fallback.plan.repeat_every) == (("mm",), minutes(20))


def test_no_channels_at_all_falls_back_to_the_implicit_console() -> None:
    router = build.router(Settings.model_validate({}))
    assert router.resolve(query(CRIT)).channels == ("console",)

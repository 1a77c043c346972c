"""Which links an alert gets (`bot.routing.links`): rules by operation glob, kind, bottleneck
class and severity, every matching rule adding its links in order, placeholders percent-encoded."""

import pytest

from bot.models import AlertKind, BottleneckType, Severity
from bot.routing.links import Link, LinkRule, expand, links_for, template_problem
from bot.routing.rules import Match
from tests.factories import make_alert

RUNBOOK = Link("Runbook", "https://wiki.example.com/runbooks/{operation}")
MERGE_DASH = Link("Merge dashboard", "https://grafana.example.com/d/merges?var-op={operation}")
STORAGE = Link("Storage runbook", "https://wiki.example.com/storage")
PAGE = Link("Alert", "https://perf.example.com/alerts/{alert_id}?kind={kind}&sev={severity}")

RULES = (
    LinkRule(Match(operation=("merge*",)), (MERGE_DASH,)),
    LinkRule(Match(bottleneck=(BottleneckType.OBJECT_STORAGE_IO,)), (STORAGE,)),
    LinkRule(Match(kind=("anomaly",), severity=(Severity.CRITICAL,)), (PAGE,)),
    LinkRule(Match(), (RUNBOOK,)),
)


@pytest.mark.parametrize(
    ("alert", "expected"),
    [
        (
            make_alert(operation_types=("commit",)),
            [("Runbook", "https://wiki.example.com/runbooks/commit")],
        ),
        (
            make_alert(operation_types=("merge_base_find",)),
            [
                ("Merge dashboard", "https://grafana.example.com/d/merges?var-op=merge_base_find"),
                ("Runbook", "https://wiki.example.com/runbooks/merge_base_find"),
            ],
        ),
        (
            make_alert(
                id=7,
                kind=AlertKind.BOTTLENECK,
                operation_types=("commit", "branch_create"),
                bottleneck=BottleneckType.OBJECT_STORAGE_IO,
            ),
            [
                ("Storage runbook", "https://wiki.example.com/storage"),
                ("Runbook", "https://wiki.example.com/runbooks/commit"),
            ],
        ),
        (
            make_alert(id=42, kind=AlertKind.THRESHOLD, severity=Severity.CRITICAL),
            [
                ("Alert", "https://perf.example.com/alerts/42?kind=threshold&sev=CRITICAL"),
                ("Runbook", "https://wiki.example.com/runbooks/commit"),
            ],
        ),
        (  # the kind matcher `anomaly` is a family; degradation is not in it
            make_alert(kind=AlertKind.DEGRADATION, severity=Severity.CRITICAL),
            [("Runbook", "https://wiki.example.com/runbooks/commit")],
        ),
        (  # an operation name cannot change the URL's path, query or fragment
            make_alert(operation_types=("a/../b?x=1&y#z",)),
            [("Runbook", "https://wiki.example.com/runbooks/a%2F..%2Fb%3Fx%3D1%26y%23z")],
        ),
        (
            make_alert(operation_types=()),
            [("Runbook", "https://wiki.example.com/runbooks/")],
        ),
    ],
)
def test_links_for(alert, expected) -> None:
    assert [(link.label, link.url) for link in links_for(alert, RULES)] == expected


def test_no_rules_no_links() -> None:
    assert links_for(make_alert(), ()) == ()


def test_a_url_is_given_once_with_its_first_label() -> None:
    rules = (
        LinkRule(Match(operation=("commit",)), (Link("Commit runbook", RUNBOOK.url),)),
        LinkRule(Match(), (RUNBOOK,)),
    )
    assert links_for(make_alert(), rules) == (
        Link("Commit runbook", "https://wiki.example.com/runbooks/commit"),
    )


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("https://x/{operation}/{alert_id}/{kind}/{severity}/{bottleneck}", None),
        ("https://x/{{literal}}", None),
        ("https://x/{op}", "unknown placeholder {op}"),
        ("https://x/{}", "unknown placeholder {}"),
        ("https://x/{operation", "lone '{'"),
        ("https://x/operation}", "lone '}'"),
    ],
)
def test_template_problem(template: str, problem: str | None) -> None:
    found = template_problem(template)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_expand_keeps_literal_braces_and_encodes_values() -> None:
    assert expand("https://x/{{a}}/{operation}", {"operation": "x y"}) == "https://x/{a}/x%20y"
    with pytest.raises(ValueError, match="unknown placeholder"):
        expand("https://x/{nope}", {})

"""The Alertmanager bridge end to end: payloads shaped exactly as Alertmanager v0.27+ sends
them (webhook format version 4, from its documentation) posted to `/api/v1/alertmanager` with
the ingest bearer token. A firing alert becomes one `external` alert paged to Slack,
acknowledged from the Slack button, and resolved by the resolved payload; a grouped payload of
three alerts makes three alerts; a re-sent firing alert updates the same one; severities come
from the `severity` label; labels route; a bad token or a bad payload stores nothing."""

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.models import AlertKind, AlertStatus, Severity
from bot.store import Store
from tests.acceptance.conftest import LiveBot, chat_settings, start
from tests.fakes.mattermost import MattermostFake
from tests.fakes.server import free_port
from tests.fakes.slack import SlackFake
from tests.polling import eventually

TOKEN = "am-ingest-token-0123456789abcdef"
ALL = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED]


def am_alert(
    fingerprint: str,
    *,
    status: str = "firing",
    severity: str | None = "critical",
    instance: str = "db-1:9187",
    ends_at: str = "0001-01-01T00:00:00Z",
) -> dict[str, Any]:
    labels = {"alertname": "PostgresReplicationLag", "instance": instance, "job": "postgres"}
    if severity is not None:
        labels["severity"] = severity
    labels["team"] = "db"
    return {
        "status": status,
        "labels": labels,
        "annotations": {
            "summary": f"Replication lag on {instance} <@channel>",
            "description": "Replica is 42s behind the primary *for 5m*.",
        },
        "startsAt": "2026-12-03T08:52:26.739266876Z",
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=pg_replication_lag+%3E+30&g0.tab=1",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    common = {
        k: v for k, v in alerts[0]["labels"].items() if all(a["labels"].get(k) == v for a in alerts)
    }
    return {
        "receiver": "perfbot",
        "status": status,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "PostgresReplicationLag"},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="PostgresReplicationLag"}',
        "truncatedAlerts": 0,
    }


async def post(
    live: LiveBot, body: Any, token: str | None = TOKEN, raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession(trust_env=False, timeout=aiohttp.ClientTimeout(total=10)) as s,
        s.post(
            f"{live.url}/api/v1/alertmanager",
            data=raw if raw is not None else json.dumps(body).encode(),
            headers=headers,
        ) as response,
    ):
        return response.status, await response.json()


def mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") == "mrkdwn" else []
    return own + [t for value in node.values() for t in mrkdwn_texts(value)]


async def alerts(live: LiveBot) -> list[Any]:
    return await live.bot.store.alerts.with_status(ALL)


@pytest.fixture
async def am(
    store: Store, slack_fake: SlackFake, mattermost_fake: MattermostFake
) -> AsyncIterator[LiveBot]:
    port = free_port()
    settings = chat_settings(
        port,
        slack_fake,
        mattermost_fake,
        http={"host": "127.0.0.1", "port": port, "ingest_tokens": [TOKEN]},
        routes=[
            {"name": "db-team", "match": {"labels": {"team": "db"}}, "notify": ["oncall-slack"]},
            {"name": "everything", "notify": ["oncall-slack", "oncall-mm"]},
        ],
    )
    bot, stop, task = await start(settings, store)
    try:
        yield LiveBot(bot, f"http://127.0.0.1:{port}", slack_fake, mattermost_fake)
    finally:
        stop.set()
        await task


async def test_firing_then_ack_from_slack_then_resolved_by_alertmanager(am: LiveBot) -> None:
    status, answer = await post(am, payload(am_alert("1a30ba71cca2921f")))
    assert (status, answer) == (200, {"alerts": 1, "resolved": 0, "ignored": 0})
    [alert] = await alerts(am)
    assert alert.kind is AlertKind.EXTERNAL
    assert alert.severity is Severity.CRITICAL
    assert alert.title == "Replication lag on db-1:9187 <@channel>"
    assert alert.labels["team"] == "db"
    assert alert.plan.route == "db-team"  # routed by label

    async def posted() -> bool:
        return any(f"(#{alert.id})" in m["text"] for m in am.slack.messages.values())

    await eventually(posted)
    card = next(m for m in am.slack.messages.values() if f"(#{alert.id})" in m["text"])
    markup = [card["text"], *mrkdwn_texts(card["blocks"])]  # what Slack parses as markup
    assert not any("<@channel>" in t for t in markup)  # Alertmanager's text is data
    assert any("&lt;@channel&gt;" in t for t in markup)
    assert am.mattermost.posts == {}  # the label route sends to Slack only

    sent = await am.slack_user().click("perf_ack", alert.id, card["ts"])
    assert sent.status == 200

    async def acked() -> bool:
        found = await am.bot.store.alerts.get(alert.id)
        return found is not None and found.status is AlertStatus.ACKNOWLEDGED

    await eventually(acked)

    resolved = am_alert("1a30ba71cca2921f", status="resolved", ends_at="2026-12-03T09:02:26Z")
    status, answer = await post(am, payload(resolved, status="resolved"))
    assert (status, answer) == (200, {"alerts": 0, "resolved": 1, "ignored": 0})
    [after] = await alerts(am)
    assert after.id == alert.id
    assert after.status is AlertStatus.RESOLVED
    assert after.resolved_by == "alertmanager"


async def test_grouped_payload_makes_one_alert_per_alert_and_resends_update(am: LiveBot) -> None:
    group = payload(
        am_alert("aaaa000000000001", instance="db-1:9187"),
        am_alert("aaaa000000000002", instance="db-2:9187", severity="warning"),
        am_alert("aaaa000000000003", instance="db-3:9187", severity="sev-unknown"),
    )
    status, answer = await post(am, group)
    assert (status, answer) == (200, {"alerts": 3, "resolved": 0, "ignored": 0})
    stored = sorted(await alerts(am), key=lambda a: a.id)
    assert [a.fingerprint for a in stored] == [
        "external:aaaa000000000001",
        "external:aaaa000000000002",
        "external:aaaa000000000003",
    ]
    # critical → CRITICAL, warning → WARNING, an unknown value → the default (WARNING)
    assert [a.severity for a in stored] == [Severity.CRITICAL, Severity.WARNING, Severity.WARNING]
    assert all(a.occurrences == 1 for a in stored)

    status, _ = await post(am, payload(am_alert("aaaa000000000002", severity="warning")))
    assert status == 200
    again = {a.fingerprint: a for a in await alerts(am)}
    assert len(again) == 3
    assert again["external:aaaa000000000002"].id == stored[1].id
    assert again["external:aaaa000000000002"].occurrences == 2


async def test_missing_severity_label_gets_the_default(am: LiveBot) -> None:
    status, _ = await post(am, payload(am_alert("bbbb000000000001", severity=None)))
    assert status == 200
    [alert] = await alerts(am)
    assert alert.severity is Severity.WARNING


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789abcdef"])
async def test_bad_token_is_refused_and_nothing_stored(am: LiveBot, token: str | None) -> None:
    status, answer = await post(am, payload(am_alert("cccc000000000001")), token=token)
    assert status == 401
    assert "Bearer" in answer["error"]
    assert await alerts(am) == []


@pytest.mark.parametrize(
    ("body", "raw", "status", "words"),
    [
        ({**payload(am_alert("d1")), "version": "3"}, None, 422, "version"),
        ({**payload(am_alert("d1")), "alerts": []}, None, 422, "alerts"),
        (payload(am_alert("d1"), {"status": "firing", "labels": {}}), None, 422, "alerts.1"),
        (payload({**am_alert("d1"), "fingerprint": ""}), None, 422, "fingerprint"),
        (payload({**am_alert("d1"), "status": "pending"}), None, 422, "status"),
        (payload({**am_alert("d1"), "labels": {"a": 1}}), None, 422, "labels"),
        (None, b'{"version": "4", "alerts": [', 400, "not JSON"),
    ],
)
async def test_malformed_payload_is_refused_and_nothing_stored(
    am: LiveBot, body: Any, raw: bytes | None, status: int, words: str
) -> None:
    got, answer = await post(am, body, raw=raw)
    assert got == status
    assert words in answer["error"]
    assert await alerts(am) == []

"""The Alertmanager bridge's pure parts: the v4 payload is validated whole, and each alert
becomes an `external` candidate with its severity from the configured label."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot import alertmanager
from bot.config import Settings
from bot.config.alertmanager import AlertmanagerSettings
from bot.models import AlertKind, Severity

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

# Shaped as Alertmanager v0.27+ sends it (docs: webhook_config; nanosecond startsAt, zero endsAt).
PAYLOAD: dict[str, Any] = {
    "receiver": "perfbot",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "ProbeFailure",
                "instance": "https://x.example",
                "severity": "critical",
            },
            "annotations": {"description": "Down for 5m", "summary": "Probe failure"},
            "startsAt": "2023-02-06T13:08:45.828123456Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=probe_success+%3D%3D+0",
            "fingerprint": "1a30ba71cca2921f",
        }
    ],
    "groupLabels": {"alertname": "ProbeFailure"},
    "commonLabels": {"alertname": "ProbeFailure", "severity": "critical"},
    "commonAnnotations": {"summary": "Probe failure"},
    "externalURL": "http://alertmanager:9093",
    "version": "4",
    "groupKey": '{}/{severity="critical"}:{alertname="ProbeFailure"}',
    "truncatedAlerts": 0,
}


def test_documented_payload_becomes_an_external_candidate() -> None:
    payload = alertmanager.parse(json.dumps(PAYLOAD).encode())
    [alert] = payload.alerts
    cand = alertmanager.candidate(alert, payload, AlertmanagerSettings(), NOW)
    assert cand.kind is AlertKind.EXTERNAL
    assert cand.fingerprint == "external:1a30ba71cca2921f"
    assert cand.severity is Severity.CRITICAL
    assert (cand.title, cand.summary) == ("Probe failure", "Down for 5m")
    assert cand.labels["instance"] == "https://x.example"
    assert cand.details["external_url"] == "http://alertmanager:9093"


def test_title_falls_back_to_alertname_and_summary_to_labels() -> None:
    body = json.loads(json.dumps(PAYLOAD))
    body["alerts"][0]["annotations"] = {}
    payload = alertmanager.parse(json.dumps(body).encode())
    cand = alertmanager.candidate(payload.alerts[0], payload, AlertmanagerSettings(), NOW)
    assert cand.title == "ProbeFailure"
    assert cand.summary == "alertname=ProbeFailure, instance=https://x.example, severity=critical"


@pytest.mark.parametrize(
    ("labels", "settings", "expected"),
    [
        ({"severity": "critical"}, {}, Severity.CRITICAL),
        ({"severity": "Page"}, {}, Severity.CRITICAL),
        ({"severity": "warning"}, {}, Severity.WARNING),
        ({"severity": "info"}, {}, Severity.INFO),
        ({"severity": "bogus"}, {}, Severity.WARNING),
        ({}, {}, Severity.WARNING),
        ({}, {"default_severity": "critical"}, Severity.CRITICAL),
        (
            {"priority": "P1"},
            {"severity_label": "priority", "severities": {"p1": "CRITICAL"}},
            Severity.CRITICAL,
        ),
        (
            {"priority": "P3"},
            {"severity_label": "priority", "severities": {"p1": "CRITICAL"}},
            Severity.WARNING,
        ),
    ],
)
def test_severity_from_the_configured_label(
    labels: dict[str, str], settings: dict[str, Any], expected: Severity
) -> None:
    assert AlertmanagerSettings.model_validate(settings).severity(labels) is expected


def test_settings_load_from_yaml_keys_and_refuse_unknown_severities() -> None:
    settings = Settings.load(alertmanager={"severity_label": "level", "severities": {"p1": "crit"}})
    assert settings.alertmanager.severities == {"p1": Severity.CRITICAL}
    with pytest.raises(Exception, match="alertmanager"):
        Settings.load(alertmanager={"severities": {"p1": "urgent"}})


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"version": "3"}, "version"),
        ({"alerts": []}, "alerts"),
        ({"status": "pending"}, "status"),
        ({"alerts": [{**PAYLOAD["alerts"][0], "startsAt": "yesterday"}]}, "alerts.0.startsAt"),
        ({"alerts": [{**PAYLOAD["alerts"][0], "labels": {"": "x"}}]}, "alerts.0.labels"),
    ],
)
def test_wrong_shapes_are_422_with_the_path(change: dict[str, Any], where: str) -> None:
    with pytest.raises(alertmanager.Invalid) as caught:
        alertmanager.parse(json.dumps({**PAYLOAD, **change}).encode())
    assert caught.value.status == 422
    assert where in caught.value.message


def test_not_json_is_400() -> None:
    with pytest.raises(alertmanager.Invalid) as caught:
        alertmanager.parse(b"{nope")
    assert caught.value.status == 400

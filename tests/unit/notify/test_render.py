"""The rendered payloads, pinned: what each channel sends for an alert, field by field."""

import email
import email.policy
import hashlib
import hmac
import json
import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from rich.console import Console

from bot import humanize
from bot.models import AlertStatus, Severity
from bot.notify import (
    console_render,
    email_render,
    facts,
    mattermost_render,
    pagerduty_render,
    slack_render,
    webhook_render,
)
from bot.notify.mattermost_sign import Binding, Signer, check_click
from tests.unit.notify.factories import (
    T0,
    make_alert,
    make_bottleneck,
    make_notification,
    make_series,
)

ACTIONS_URL = "http://127.0.0.1:3000/mattermost/actions"
SECRET = "mm-actions-secret"
SIGNER = Signer(SECRET, 3600)
CHANNEL = Binding("channel", "chan1")
NOW = 1_700_000_000.0


def _actions_block(payload: dict[str, Any]) -> Any:
    blocks = [b for b in payload["blocks"] if b["type"] == "actions"]
    assert len(blocks) <= 1
    return blocks[0] if blocks else None


# -- Slack ----------------------------------------------------------------------------------


def test_slack_open_alert_has_ack_escalate_and_confirmed_silence():
    payload = slack_render.render(make_notification())
    actions = _actions_block(payload)
    assert [(e["action_id"], e["value"], e["text"]["text"]) for e in actions["elements"]] == [
        ("perf_ack", "42", "Acknowledge"),
        ("perf_escalate", "42", "Escalate"),
        ("perf_resolve", "42", "Resolve"),
        ("perf_silence_1h", "42", "Silence 1h"),
    ]
    resolve = actions["elements"][2]
    assert resolve["confirm"]["confirm"]["text"] == "Resolve"
    assert resolve["confirm"]["title"]["text"] == "Resolve alert #42?"
    silence = actions["elements"][3]
    assert silence["style"] == "danger"
    assert silence["confirm"]["confirm"]["text"] == "Silence"
    assert silence["confirm"]["deny"]["text"] == "Cancel"
    assert "commit" in silence["confirm"]["text"]["text"]
    assert "confirm" not in actions["elements"][0]


def test_slack_acknowledged_alert_offers_unacknowledge():
    alert = make_alert(status=AlertStatus.ACKNOWLEDGED, acknowledged_by="alice", version=3)
    payload = slack_render.render(make_notification("acknowledged", alert))
    actions = _actions_block(payload)
    assert [e["action_id"] for e in actions["elements"]] == [
        "perf_unack",
        "perf_escalate",
        "perf_resolve",
        "perf_silence_1h",
    ]
    assert actions["block_id"] == "perf_actions_42_3"
    assert "*acknowledged by alice*" in payload["blocks"][1]["text"]["text"]
    assert payload["text"] == "[ACK] commit latency anomaly (#42): acknowledged by alice"


def test_slack_resolved_alert_has_no_buttons():
    alert = make_alert(status=AlertStatus.RESOLVED)
    payload = slack_render.render(make_notification("resolved", alert))
    assert _actions_block(payload) is None
    assert payload["blocks"][0]["text"]["text"].startswith(":white_check_mark:")
    assert payload["text"].startswith("[RESOLVED]")


def test_slack_message_structure_and_facts():
    payload = slack_render.render(make_notification(series=make_series()))
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds == ["header", "section", "section", "section", "context", "actions"]
    assert payload["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": ":red_circle: commit latency anomaly (#42)",
        "emoji": True,
    }
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in payload["blocks"][2]["fields"]
    }
    assert fields["*Window median*"] == "29.8 ms vs 4.93 ms usual for this hour (×6.0)"
    assert fields["*Above the old p99*"] == "42 of 120 requests (35 %)"
    assert fields["*Strength*"] == "9.0 standard errors above usual"
    assert fields["*Window*"] == "5 min"
    assert not {"*Value*", "*Z-score*", "*Outliers*"} & set(fields)
    assert fields["*Occurrences*"] == "2"
    assert fields["*First seen*"] == "2026-11-27 06:00:00 UTC"
    spark = payload["blocks"][3]["text"]["text"]
    assert re.match(
        r"^`[▁▂▃▄▅▆▇█]{30}`\np99, last hour: 200 ms to 780 ms \(baseline p50–p99 100 ms–240 ms\)$",
        spark,
    )
    assert "#42" in payload["blocks"][4]["elements"][0]["text"]


def test_slack_bottleneck_shows_pairs_recommendations_and_children():
    children = tuple(make_alert(id=100 + i, severity=Severity.WARNING) for i in range(25))
    payload = slack_render.render(make_notification(alert=make_bottleneck(), children=children))
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b]
    assert any("commit ↔ branch_create r=0.93 (n=48)" in t for t in texts)
    assert any("• Check disk I/O latency on the object store" in t for t in texts)
    grouped = next(t for t in texts if t.startswith("*Grouped alerts (25)*"))
    assert "#100 WARNING commit latency anomaly" in grouped
    assert "… and 5 more" in grouped


def test_slack_respects_limits():
    alert = make_bottleneck(
        title="t" * 500,
        summary="s" * 5000,
        operation_types=tuple(f"op{i}" for i in range(200)),
        details={"recommendations": ["r" * 400] * 20},
    )
    children = tuple(make_alert(id=i, title="c" * 300) for i in range(200))
    payload = slack_render.render(
        make_notification(alert=alert, children=children, mention=("U1",) * 50)
    )
    assert len(payload["blocks"]) <= 50
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    for block in payload["blocks"]:
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                if "confirm" in element:
                    assert len(element["confirm"]["title"]["text"]) <= 100
                    assert len(element["confirm"]["text"]["text"]) <= 300
    assert payload["text"]


@pytest.mark.parametrize(
    ("handle", "expected"),
    [
        ("U024BE7LH", "<@U024BE7LH>"),
        ("@here", "<!here>"),
        ("S0614TZR7", "<!subteam^S0614TZR7>"),
        ("@dba-oncall", "@dba-oncall"),
        ("alice", "@alice"),
    ],
)
def test_slack_mentions(handle, expected):
    assert slack_render.mention(handle) == expected


def test_slack_thread_reply_for_escalation_mentions_people():
    alert = make_alert(escalation_step=2)
    reply = slack_render.thread_reply(make_notification("escalated", alert, mention=("U024BE7LH",)))
    assert reply["text"].startswith(
        "<@U024BE7LH> :rotating_light: commit latency anomaly (#42): escalated to step 2 of 2: mentioned @here"
    )


def test_slack_renders_robustly_without_details():
    alert = make_alert(
        details={
            "value_ms": "n/a",
            "z_score": float("nan"),
            "pairs": "bogus",
            "recommendations": None,
        }
    )
    payload = slack_render.render(make_notification(alert=alert))
    fields = [f["text"] for f in payload["blocks"][2]["fields"]]
    assert not any(f.startswith(("*Value*", "*Z-score*")) for f in fields)


# -- Mattermost -----------------------------------------------------------------------------


def test_mattermost_actions_are_alphanumeric_signed_and_point_at_the_integration():
    post = mattermost_render.render(
        make_notification(), actions_url=ACTIONS_URL, signer=SIGNER, binding=CHANNEL, now=NOW
    )
    (attachment,) = post["props"]["attachments"]
    assert attachment["color"] == "#D32F2F"
    assert [a["id"] for a in attachment["actions"]] == ["ack", "escalate", "resolve", "silence1h"]
    for action in attachment["actions"]:
        assert re.fullmatch(r"[A-Za-z0-9]+", action["id"])
        assert action["type"] == "button"
        assert action["integration"]["url"] == ACTIONS_URL
        context = action["integration"]["context"]
        assert {k: v for k, v in context.items() if k != "sig"} == {
            "action": action["id"],
            "alert_id": 42,
            "version": 1,
            "state": "open/CRITICAL/0/0/0",
            "exp": int(NOW) + 3600,
            "channel": "chan1",
        }
        click = check_click(SECRET, context, "post9", "chan1", NOW)
        assert (click.action, click.alert_id) == (action["id"], 42)


def test_mattermost_acknowledged_and_resolved_buttons():
    acked = make_alert(status=AlertStatus.ACKNOWLEDGED, acknowledged_by="bob")
    post = mattermost_render.render(
        make_notification("acknowledged", acked),
        actions_url=ACTIONS_URL,
        signer=SIGNER,
        binding=CHANNEL,
        now=NOW,
    )
    assert [a["id"] for a in post["props"]["attachments"][0]["actions"]] == [
        "unack",
        "escalate",
        "resolve",
        "silence1h",
    ]
    resolved = make_alert(status=AlertStatus.RESOLVED)
    post = mattermost_render.render(
        make_notification("resolved", resolved),
        actions_url=ACTIONS_URL,
        signer=SIGNER,
        binding=CHANNEL,
        now=NOW,
    )
    assert post["props"]["attachments"][0]["actions"] == []
    assert post["props"]["attachments"][0]["color"] == "#2E7D32"


def test_mattermost_without_actions_url_has_no_buttons():
    post = mattermost_render.render(
        make_notification(), actions_url=None, signer=SIGNER, binding=CHANNEL, now=NOW
    )
    assert post["props"]["attachments"][0]["actions"] == []


def test_mattermost_post_content():
    n = make_notification(alert=make_bottleneck(), series=make_series(), mention=("dba-oncall",))
    post = mattermost_render.render(
        n, actions_url=ACTIONS_URL, signer=SIGNER, binding=CHANNEL, now=NOW
    )
    assert (
        post["message"]
        == "@dba-oncall :red_circle: **[CRITICAL]** shared bottleneck: object storage I/O (#50)"
    )
    attachment = post["props"]["attachments"][0]
    assert attachment["title"] == "shared bottleneck: object storage I/O (#50)"
    assert "- commit ↔ branch_create r=0.93 (n=48)" in attachment["text"]
    assert "- Look for vacuum or checkpoints" in attachment["text"]
    assert re.search(r"`[▁▂▃▄▅▆▇█]+` p99, last hour", attachment["text"])
    titles = [f["title"] for f in attachment["fields"]]
    # a bottleneck's operations are its evidence's members, not a second list
    assert titles[:5] == ["Severity", "State", "Kind", "Members", "Class"]
    assert attachment["fallback"] == "[CRITICAL] shared bottleneck: object storage I/O (#50): open"


# -- Email ----------------------------------------------------------------------------------

SENDER = "PerfBot <perfbot@example.com>"


def _parse(msg: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _part(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body((subtype,))
    assert part is not None
    return str(part.get_content())


def test_email_first_mail_subject_message_id_and_parts():
    msg = _parse(
        email_render.render(
            make_notification(series=make_series()),
            sender=SENDER,
            to=["a@example.com", "b@example.com"],
        )
    )
    assert msg["Subject"] == "[CRITICAL] perfbot: commit latency anomaly (#42)"
    assert msg["To"] == "a@example.com, b@example.com"
    fp = hashlib.sha256(b"anomaly:commit").hexdigest()[:16]
    assert msg["Message-ID"] == f"<perfbot.alert-42.{fp}@example.com>"
    assert msg["In-Reply-To"] is None
    assert msg.get_content_type() == "multipart/alternative"
    text = _part(msg, "plain")
    html = _part(msg, "html")
    assert "Window median:     29.8 ms vs 4.93 ms usual for this hour (×6.0)" in text
    assert "Strength:          9.0 standard errors above usual" in text
    assert "<td>29.8 ms vs 4.93 ms usual for this hour (×6.0)</td>" in html
    assert "threshold" not in text  # a robust spike's card shows no threshold it did not cross


@pytest.mark.parametrize(
    ("event", "status", "prefix"),
    [
        ("acknowledged", AlertStatus.ACKNOWLEDGED, "[ACK]"),
        ("resolved", AlertStatus.RESOLVED, "[RESOLVED]"),
        ("escalated", AlertStatus.OPEN, "[ESCALATED]"),
        ("repeat", AlertStatus.OPEN, "[CRITICAL]"),
    ],
)
def test_email_later_events_thread_under_the_first(event, status, prefix):
    first = email_render.root_message_id(make_alert(), SENDER)
    msg = _parse(
        email_render.render(
            make_notification(event, make_alert(status=status)), sender=SENDER, to=["a@example.com"]
        )
    )
    assert msg["Subject"] == f"{prefix} perfbot: commit latency anomaly (#42)"
    assert msg["In-Reply-To"] == first
    assert msg["References"] == first
    assert msg["Message-ID"] != first
    assert msg["Message-ID"].endswith("@example.com>")


def test_email_prefers_the_stored_reference_for_threading():
    n = make_notification(
        "resolved",
        make_alert(status=AlertStatus.RESOLVED),
        previous={"message_id": "<old@example.com>"},
    )
    msg = _parse(email_render.render(n, sender=SENDER, to=["a@example.com"]))
    assert msg["In-Reply-To"] == "<old@example.com>"


def test_email_escapes_user_data_in_html():
    alert = make_alert(
        operation_types=("<script>alert(1)</script>",),
        title="x <b>y</b> & z",
        summary="<img src=x>",
    )
    msg = _parse(
        email_render.render(make_notification(alert=alert), sender=SENDER, to=["a@example.com"])
    )
    html = _part(msg, "html")
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>y</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "x &lt;b&gt;y&lt;/b&gt; &amp; z" in html


@pytest.mark.parametrize(
    ("sender", "domain"),
    [
        ("PerfBot <perfbot@example.com>", "example.com"),
        ("perfbot@localhost", "localhost"),
        ("perfbot", "perfbot.invalid"),
    ],
)
def test_email_message_id_domain_comes_from_the_sender(sender, domain):
    assert email_render.root_message_id(make_alert(), sender).endswith(f"@{domain}>")


# -- PagerDuty ------------------------------------------------------------------------------

KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(Severity.CRITICAL, "critical"), (Severity.WARNING, "warning"), (Severity.INFO, "info")],
)
def test_pagerduty_trigger(severity, expected):
    event = pagerduty_render.render(make_notification(alert=make_alert(severity=severity)), KEY)
    assert event["routing_key"] == KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "anomaly:commit"
    assert event["client"] == "perfbot"
    payload = event["payload"]
    assert payload["severity"] == expected
    assert payload["source"] == "perfbot"
    assert payload["component"] == "commit"
    assert payload["class"] == "statistical"
    assert (
        payload["summary"]
        == f"[{severity.value}] commit latency anomaly (#42): commit p99 is 3.4x its baseline"
    )
    assert payload["custom_details"]["value_ms"] == 812.0
    assert payload["custom_details"]["baseline_p99_ms"] == 240.0
    assert payload["custom_details"]["alert_id"] == 42


@pytest.mark.parametrize(
    ("event", "status", "action"),
    [
        ("fired", AlertStatus.OPEN, "trigger"),
        ("updated", AlertStatus.OPEN, "trigger"),
        ("escalated", AlertStatus.OPEN, "trigger"),
        ("acknowledged", AlertStatus.ACKNOWLEDGED, "acknowledge"),
        ("resolved", AlertStatus.RESOLVED, "resolve"),
    ],
)
def test_pagerduty_event_actions(event, status, action):
    body = pagerduty_render.render(make_notification(event, make_alert(status=status)), KEY)
    assert body["event_action"] == action
    assert body["dedup_key"] == "anomaly:commit"
    assert ("payload" in body) == (action == "trigger")


def test_pagerduty_limits():
    alert = make_alert(summary="s" * 3000, fingerprint="f" * 400)
    body = pagerduty_render.render(make_notification(alert=alert), KEY)
    assert len(body["payload"]["summary"]) == 1024
    assert len(body["dedup_key"]) <= 255


# -- Webhook --------------------------------------------------------------------------------


def test_webhook_body_and_signature():
    n = make_notification(
        "acknowledged",
        make_alert(status=AlertStatus.ACKNOWLEDGED, acknowledged_by="alice"),
        extra={"delivery_id": 77},
    )
    raw = webhook_render.body(n, "77")
    headers = webhook_render.headers(n, raw, "77", "hook-secret", 1_800_000_000)
    signed = b"1800000000.77." + raw
    expected = hmac.new(b"hook-secret", signed, hashlib.sha256).hexdigest()
    assert headers["X-Perfbot-Signature"] == f"t=1800000000,v1={expected}"
    assert headers["X-Perfbot-Event"] == "acknowledged"
    assert headers["X-Perfbot-Delivery"] == "77"
    body = json.loads(raw)
    assert body["event"] == "acknowledged"
    assert body["delivery_id"] == "77"
    assert set(body["alert"]) >= {
        "id",
        "fingerprint",
        "kind",
        "severity",
        "status",
        "operation_type",
        "operation_types",
        "title",
        "summary",
        "details",
        "first_seen",
        "last_seen",
        "occurrences",
        "acknowledged_by",
    }
    assert body["alert"]["id"] == 42
    assert body["alert"]["status"] == "acknowledged"
    assert body["alert"]["acknowledged_by"] == "alice"
    assert body["alert"]["operation_type"] == "commit"
    assert body["alert"]["first_seen"] == T0.isoformat()
    assert body["alert"]["details"]["value_ms"] == 812.0


def test_webhook_without_secret_has_no_signature_and_maps_events():
    n = make_notification("repeat")
    raw = webhook_render.body(n, "5")
    headers = webhook_render.headers(n, raw, "5", None, 1_800_000_000)
    assert "X-Perfbot-Signature" not in headers
    assert headers["X-Perfbot-Delivery"] == "5"
    assert json.loads(raw)["event"] == "updated"


# -- Console and shared facts ---------------------------------------------------------------


def test_console_panel_shows_id_severity_and_facts():
    console = Console(record=True, width=120, force_terminal=False)
    alert = make_alert(operation_types=("[bold]weird",))
    console.print(console_render.render(make_notification(alert=alert, series=make_series())))
    out = console.export_text()
    assert "#42 CRITICAL commit latency anomaly" in out
    assert "fired: open" in out
    assert "29.8 ms vs 4.93 ms usual for this hour (×6.0)" in out
    assert "Above the old p99  42 of 120 requests (35 %)" in out
    assert "[bold]weird" in out


def test_sparkline_spans_the_whole_series_and_squeezes():
    series = make_series(points=120)  # 4 hours at 2-minute steps: the provider chose the span
    line = facts.sparkline(series)
    assert line is not None
    assert len(line) == 60  # 120 points squeezed, each character the worst of its slice
    assert line[0] == "▁"
    assert line[-1] == "█"
    assert facts.sparkline_caption(series) == (
        "p99, last 3 h 58 min: 200 ms to 2.58 s (baseline p50–p99 100 ms–240 ms)"
    )
    assert facts.sparkline_caption(make_series(points=30)) == (
        "p99, last hour: 200 ms to 780 ms (baseline p50–p99 100 ms–240 ms)"
    )
    assert humanize.spark([1.0] * 200, 60) == "▁" * 60
    assert facts.sparkline(None) is None


def test_state_texts():
    assert facts.state(make_notification(alert=make_alert(silence_id=3))) == "open, silenced"
    assert (
        facts.state(make_notification("escalated", make_alert(escalation_step=1)))
        == "escalated to step 1 of 2: notified dba-pager; mentioned dba-oncall"
    )
    assert (
        facts.state(make_notification("escalated", make_alert(escalation_step=0)))
        == "escalated by hand"
    )
    resolved = make_alert(
        status=AlertStatus.RESOLVED, resolved_by="system", resolved_at=T0 + timedelta(hours=1)
    )
    assert facts.state(make_notification("resolved", resolved)) == "resolved by system"

"""Runbook and dashboard links on every channel: Slack URL buttons, Mattermost Markdown links,
email text and HTML links, the PagerDuty event's `links`, the webhook's `links`, console lines.
Labels are data: escaped per format like every other string from the configuration."""

import json
import re

from rich.console import Console

from bot.notify import (
    Link,
    console_render,
    email_render,
    mattermost_render,
    pagerduty_render,
    slack_render,
    webhook_render,
)
from bot.notify.mattermost_sign import Binding
from tests.unit.notify.factories import make_notification

RUNBOOK = Link("Runbook", "https://wiki.example.com/runbooks/commit")
DASHBOARD = Link("Dash <b>&", "https://grafana.example.com/d/x?var-op=merge%2A&from=now-1h")
LINKS = (RUNBOOK, DASHBOARD)


def test_slack_links_are_url_buttons_in_their_own_block() -> None:
    blocks = slack_render.render(make_notification(links=LINKS))["blocks"]
    (block,) = [b for b in blocks if b.get("block_id", "").startswith("perf_links_")]
    assert block["type"] == "actions"
    assert [
        (e["type"], e["text"]["text"], e["url"], e["action_id"]) for e in block["elements"]
    ] == [
        ("button", "Runbook", RUNBOOK.url, "perf_link_0"),
        ("button", "Dash <b>&", DASHBOARD.url, "perf_link_1"),
    ]
    assert all(e["text"]["type"] == "plain_text" for e in block["elements"])
    # the alert's own buttons stay the last block
    assert blocks[-1]["block_id"].startswith("perf_actions_")


def test_slack_without_links_has_no_link_block() -> None:
    blocks = slack_render.render(make_notification())["blocks"]
    assert not any(b.get("block_id", "").startswith("perf_links_") for b in blocks)


def test_mattermost_links_are_markdown_links_with_escaped_labels() -> None:
    odd = Link("[x](https://evil.example) @channel", "https://wiki.example.com/a_(b) c")
    post = mattermost_render.render(
        make_notification(links=(RUNBOOK, odd)),
        actions_url=None,
        signer=None,
        binding=Binding("channel", "chan1"),
        now=0.0,
    )
    text = post["props"]["attachments"][0]["text"]
    (line,) = [line for line in text.splitlines() if line.startswith("**Links:**")]
    assert f"[Runbook]({RUNBOOK.url})" in line
    # the label cannot open a link of its own or mention anyone; the URL cannot end the target early
    assert "(https://wiki.example.com/a_%28b%29%20c)" in line
    assert "\\[x\\]" in line
    assert "@channel" not in line
    assert len(re.findall(r"(?<!\\)\]\(", line)) == 2  # only the two real links


def test_email_links_in_text_and_html() -> None:
    msg = email_render.render(
        make_notification(links=LINKS), sender="perfbot@example.com", to=["a@example.com"]
    )
    text, html = (part.get_content() for part in msg.iter_parts())
    assert f"  - Runbook: {RUNBOOK.url}" in text
    assert f"  - Dash <b>&: {DASHBOARD.url}" in text
    assert f'<a href="{RUNBOOK.url}">Runbook</a>' in html
    assert (
        '<a href="https://grafana.example.com/d/x?var-op=merge%2A&amp;from=now-1h">'
        "Dash &lt;b&gt;&amp;</a>"
    ) in html


def test_pagerduty_trigger_carries_links() -> None:
    event = pagerduty_render.render(make_notification(links=LINKS), "k" * 32)
    assert event["links"] == [
        {"href": RUNBOOK.url, "text": "Runbook"},
        {"href": DASHBOARD.url, "text": "Dash <b>&"},
    ]
    assert "links" not in pagerduty_render.render(make_notification(), "k" * 32)


def test_webhook_body_carries_links() -> None:
    body = json.loads(webhook_render.body(make_notification(links=LINKS), "d1"))
    assert body["links"] == [
        {"label": "Runbook", "url": RUNBOOK.url},
        {"label": "Dash <b>&", "url": DASHBOARD.url},
    ]
    assert "links" not in json.loads(webhook_render.body(make_notification(), "d1"))


def test_console_shows_links_as_lines() -> None:
    console = Console(record=True, width=200, force_terminal=False)
    evil = Link("Run\x1b[31mbook", RUNBOOK.url)
    console.print(console_render.render(make_notification(links=(evil, DASHBOARD))))
    out = console.export_text()
    assert f"Run\\x1b[31mbook: {RUNBOOK.url}" in out
    assert f"Dash <b>&: {DASHBOARD.url}" in out

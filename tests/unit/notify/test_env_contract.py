"""The acceptance-test contract: `perfbot_env(...)` pointed at the stand-ins, read by Settings
from the environment, gives notifiers that reach every stand-in."""

from bot.config import Settings
from bot.notify.registry import build_notifiers, close_all
from tests.fakes.fixtures import perfbot_env
from tests.unit.notify.factories import make_notification


async def test_environment_points_every_channel_at_its_stand_in(
    monkeypatch, slack_fake, mattermost_fake, pagerduty_fake, smtp_server
):
    env = perfbot_env(
        slack_fake=slack_fake,
        mattermost_fake=mattermost_fake,
        pagerduty_fake=pagerduty_fake,
        smtp=smtp_server,
        actions_url="http://127.0.0.1:3000/mattermost/actions",
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    notifiers = build_notifiers(settings, timeout=30.0)
    assert sorted(notifiers) == ["email", "mattermost", "pagerduty", "slack"]
    try:
        refs = {name: await n.send(make_notification()) for name, n in notifiers.items()}
    finally:
        await close_all(notifiers)
    assert set(refs["slack"] or {}) == {"channel", "ts"}
    assert set(refs["mattermost"] or {}) == {"post_id"}
    assert refs["pagerduty"] == {"dedup_key": "anomaly:commit"}
    assert set(refs["email"] or {}) == {"message_id"}
    assert len(slack_fake.calls_to("chat.postMessage")) == 1
    assert len(mattermost_fake.posts) == 1
    assert len(pagerduty_fake.events) == 1
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == ["oncall@perfbot.test"]
    post = next(iter(mattermost_fake.posts.values()))
    action = post["props"]["attachments"][0]["actions"][0]
    assert action["integration"]["url"] == "http://127.0.0.1:3000/mattermost/actions"

"""Signed Mattermost button contexts: what verifies, and every way a context is refused
(tampered, other key, empty key, expired, bound to another post or channel, malformed), and
when a verified click is stale."""

from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import MattermostSettings
from bot.notify.mattermost_sign import (
    NOT_VERIFIED,
    Binding,
    Click,
    Refused,
    Signer,
    action_context,
    actions_secret,
    check_click,
    sign_action,
    signer,
    stale,
)

KEY = "mm-actions-secret"
NOW = 1_700_000_000.0
EXP = int(NOW) + 600
POST, CHANNEL = "post4dv8", "chan7x2q"
STATE = "open/WARNING/0/0/0"
ON_POST = Binding("post", POST)


def context(binding: Binding = ON_POST, **changes: Any) -> dict[str, Any]:
    ctx = action_context(KEY, "ack", 42, version=3, state=STATE, exp=EXP, binding=binding)
    ctx.update(changes)
    return {k: v for k, v in ctx.items() if v is not None}


def test_a_signed_context_verifies_on_its_post() -> None:
    assert check_click(KEY, context(), POST, CHANNEL, NOW) == Click("ack", 42, 3, STATE)


def test_a_channel_bound_context_verifies_on_any_post_of_its_channel() -> None:
    ctx = context(Binding("channel", CHANNEL))
    assert check_click(KEY, ctx, "another-post", CHANNEL, NOW).alert_id == 42


def test_numbers_may_arrive_as_strings() -> None:
    ctx = context(alert_id="42", version="3", exp=str(EXP))
    assert check_click(KEY, ctx, POST, CHANNEL, NOW) == Click("ack", 42, 3, STATE)


@pytest.mark.parametrize(
    ("ctx", "post_id", "channel_id", "reason"),
    [
        (context(alert_id=43), POST, CHANNEL, "signature does not match"),
        (context(action="silence1h"), POST, CHANNEL, "signature does not match"),
        (context(version=4), POST, CHANNEL, "signature does not match"),
        (context(state="resolved/WARNING/0/0/0"), POST, CHANNEL, "signature does not match"),
        (context(exp=EXP + 86400), POST, CHANNEL, "signature does not match"),  # extended
        (context(post="other-post"), "other-post", CHANNEL, "signature does not match"),
        (context(sig=sign_action("other-key", "ack", 42, 3, STATE, EXP, Binding("post", POST)))
         , POST, CHANNEL, "signature does not match"),
        (context(sig="0" * 64), POST, CHANNEL, "signature does not match"),
        (context(sig="é" * 64), POST, CHANNEL, "context malformed or from an older perfbot"),
        (context(), "other-post", CHANNEL, "context bound to another post"),
        (context(), None, CHANNEL, "context bound to another post"),
        (context(Binding("channel", CHANNEL)), POST, "other-chan", "context bound to another channel"),
        # a post-bound signature presented as a channel binding (kinds are signed)
        (context(post=None, channel=POST), POST, POST, "signature does not match"),
        (context(channel=CHANNEL), POST, CHANNEL, "context malformed or from an older perfbot"),
        (context(action="delete"), POST, CHANNEL, "context malformed or from an older perfbot"),
        (context(alert_id=True), POST, CHANNEL, "context malformed or from an older perfbot"),
        (context(version=None), POST, CHANNEL, "context malformed or from an older perfbot"),
        (context(exp=None), POST, CHANNEL, "context malformed or from an older perfbot"),
        (context(state=None), POST, CHANNEL, "context malformed or from an older perfbot"),
        (context(post="x" * 65), POST, CHANNEL, "context malformed or from an older perfbot"),
        # the format before contexts were versioned: (action, alert id) only
        ({"action": "ack", "alert_id": 42, "sig": "ab" * 32}, POST, CHANNEL,
         "context malformed or from an older perfbot"),
        ("ack", POST, CHANNEL, "context missing"),
        (None, POST, CHANNEL, "context missing"),
    ],
)  # fmt: skip
def test_forged_tampered_and_misbound_contexts_are_refused(
    ctx: Any, post_id: Any, channel_id: Any, reason: str
) -> None:
    with pytest.raises(Refused) as refused:
        check_click(KEY, ctx, post_id, channel_id, NOW)
    assert refused.value.reason == reason
    assert refused.value.reply == NOT_VERIFIED


@pytest.mark.parametrize(("now", "expired"), [(EXP - 1, False), (EXP, False), (EXP + 1, True)])
def test_contexts_expire(now: float, expired: bool) -> None:
    if not expired:
        assert check_click(KEY, context(), POST, CHANNEL, now).action == "ack"
        return
    with pytest.raises(Refused) as refused:
        check_click(KEY, context(), POST, CHANNEL, now)
    assert refused.value.reason == "context expired"
    assert refused.value.reply == (
        "This button has expired; nothing was changed. Use `/perf ack 42` instead."
    )


def test_an_expired_silence_button_names_the_command_to_type() -> None:
    ctx = action_context(
        KEY, "silence1h", 7, version=1, state=STATE, exp=EXP, binding=Binding("post", POST)
    )
    with pytest.raises(Refused, match="expired") as refused:
        check_click(KEY, ctx, POST, CHANNEL, EXP + 5)
    assert "`/perf silence alert=7 1h`" in refused.value.reply


@pytest.mark.parametrize("key", ["", "   ", None])
def test_an_empty_key_never_verifies(key: str | None) -> None:
    # even a context "signed" with that same empty key is refused
    empty_sig = "v" * 64
    with pytest.raises(Refused) as refused:
        check_click(key, context(sig=empty_sig), POST, CHANNEL, NOW)
    assert refused.value.reason == "no signing key"


@pytest.mark.parametrize("key", ["", "  "])
def test_an_empty_key_never_signs(key: str) -> None:
    with pytest.raises(ValueError, match="empty key"):
        sign_action(key, "ack", 1, 1, STATE, EXP, Binding("post", POST))
    with pytest.raises(ValueError, match="empty key"):
        Signer(key, 60)


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"token": "bot", "actions_secret": "own"}, "own"),
        ({"token": "bot"}, "bot"),
        ({"token": "bot", "actions_secret": ""}, "bot"),
        ({"token": "", "actions_secret": ""}, None),
        ({"token": " "}, None),
        ({}, None),
    ],
)
def test_the_key_is_the_actions_secret_else_the_bot_token_never_empty(
    settings: dict[str, str], key: str | None
) -> None:
    # an empty secret is a config error (bot.config.secrets); built unchecked, it still never signs
    secrets: dict[str, Any] = {k: SecretStr(v) for k, v in settings.items()}
    parsed = MattermostSettings.model_construct(**secrets)
    assert actions_secret(parsed) == key
    made = signer(parsed)
    assert (made.secret if made else None) == key


def test_the_signer_expires_contexts_after_the_configured_ttl() -> None:
    made = signer(MattermostSettings.model_validate({"token": "bot", "actions_ttl": "2h"}))
    assert made is not None
    ctx = made.context("escalate", 5, 9, STATE, Binding("channel", CHANNEL), NOW)
    assert ctx["exp"] == int(NOW) + 7200
    assert check_click("bot", ctx, POST, CHANNEL, NOW + 7200).action == "escalate"
    with pytest.raises(Refused):
        check_click("bot", ctx, POST, CHANNEL, NOW + 7201)
    default = signer(MattermostSettings.model_validate({"token": "bot"}))
    assert default is not None
    assert default.ttl_s == 7 * 86400


@pytest.mark.parametrize(
    ("drawn", "now", "is_stale"),
    [
        ((3, STATE), (3, STATE), False),
        # only counters moved (a repeat detection): the message was not re-drawn
        ((3, STATE), (5, STATE), False),
        ((3, STATE), (4, "acknowledged/WARNING/0/0/0"), True),
        ((3, STATE), (4, "open/WARNING/1/0/0"), True),  # escalated since
        ((3, STATE), (4, "open/WARNING/0/9/0"), True),  # silenced since
        ((3, STATE), (4, "open/CRITICAL/0/0/0"), True),
        ((3, STATE), (9, "resolved/WARNING/0/0/0"), True),
    ],
)
def test_a_button_is_stale_once_the_state_it_was_drawn_for_changed(
    drawn: tuple[int, str], now: tuple[int, str], is_stale: bool
) -> None:
    assert stale(Click("ack", 42, *drawn), *now) is is_stale

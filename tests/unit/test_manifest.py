"""manifest.yml is a valid Slack app manifest (schema 1.0.0 rules for the keys it uses) that
matches the code: the `/perf` command and interactivity on `/slack/events`, and only the bot
scopes perfbot calls for."""

import re
from pathlib import Path
from typing import Any

import yaml

from bot.chat.slack import EVENTS_PATH

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
URL = re.compile(r"^https?://")


def load() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_top_level_and_display_information() -> None:
    m = load()
    assert set(m) <= {"_metadata", "display_information", "features", "oauth_config", "settings"}
    info = m["display_information"]
    assert set(info) <= {"name", "description", "background_color", "long_description"}
    assert 1 <= len(info["name"]) <= 35
    assert 1 <= len(info["description"]) <= 140
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", info["background_color"])


def test_slash_command_and_bot_user() -> None:
    features = load()["features"]
    assert set(features) <= {"bot_user", "slash_commands", "app_home", "shortcuts"}
    assert set(features["bot_user"]) <= {"display_name", "always_online"}
    assert 1 <= len(features["bot_user"]["display_name"]) <= 80
    [command] = features["slash_commands"]
    assert set(command) <= {"command", "url", "description", "usage_hint", "should_escape"}
    assert command["command"] == "/perf"
    assert 1 <= len(command["description"]) <= 2000
    assert 1 <= len(command["usage_hint"]) <= 1000
    assert URL.match(command["url"])
    assert command["url"].endswith(EVENTS_PATH)
    # mentions must arrive as ids (`<@U…|name>`): `/perf override @alice 4h` trusts no name
    assert command["should_escape"] is True


def test_interactivity_socket_mode_and_scopes() -> None:
    m = load()
    settings = m["settings"]
    assert set(settings) <= {
        "interactivity",
        "event_subscriptions",
        "org_deploy_enabled",
        "socket_mode_enabled",
        "token_rotation_enabled",
    }
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith(EVENTS_PATH)
    assert URL.match(settings["interactivity"]["request_url"])
    assert isinstance(settings["socket_mode_enabled"], bool)
    assert set(m["oauth_config"]) == {"scopes"}
    assert m["oauth_config"]["scopes"]["bot"] == [
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "im:write",
    ]
    assert m["_metadata"] == {"major_version": 1, "minor_version": 1}

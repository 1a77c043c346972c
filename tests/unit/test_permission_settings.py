"""The `permissions:` and `silences:` sections: qualified ids only, named groups, safe defaults,
and `perfbot config check` saying what to write instead of a name."""

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.errors import ConfigError
from bot.routing.permission import Permissions

MM = "rd49ehbqyjytddasoownkuqrxe"


@pytest.fixture
def config(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "perfbot.yml"
        path.write_text(text)
        return path

    return write


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "permissions: {silence: [alice]}\n",
            "permissions.silence[0]: 'alice' looks like a user name; names are not trusted, "
            "write the user's id: slack:U… or mattermost:<26-character id>",
        ),
        ("permissions: {ack: ['@alice']}\n", "permissions.ack[0]: '@alice' looks like a user name"),
        (
            "permissions: {resolve: ['slack:U1', U0ALICE]}\n",
            "permissions.resolve[1]: 'U0ALICE' is a bare user id; write slack:U0ALICE",
        ),
        (
            f"permissions: {{escalate: [{MM}]}}\n",
            f"permissions.escalate[0]: '{MM}' is a bare user id; write mattermost:{MM}",
        ),
        (
            "permissions: {silence_all: ['slack:u0alice']}\n",
            "permissions.silence_all[0]: Slack user ids are upper case; write slack:U0ALICE",
        ),
        (
            "permissions: {silence: ['mattermost:alice']}\n",
            "permissions.silence[0]: 'alice' is not a Mattermost user id",
        ),
        (
            "permissions: {silence: ['group:oncall']}\n",
            "permissions.silence[0]: unknown group 'oncall' (permissions.groups: none are defined)",
        ),
        (
            "permissions: {groups: {dba: ['slack:U1']}, silence: ['group:oncall']}\n",
            "permissions.silence[0]: unknown group 'oncall' (permissions.groups: dba)",
        ),
        (
            "permissions: {groups: {oncall: [bob]}}\n",
            "permissions.groups.oncall[0]: 'bob' looks like a user name",
        ),
        (
            "permissions: {groups: {a: ['slack:U1'], b: ['group:a']}}\n",
            "permissions.groups.b[0]: a group cannot contain another group",
        ),
        (
            "permissions: {groups: {'on call': ['slack:U1']}}\n",
            "permissions.groups.on call: a group name is letters, digits, _ and -",
        ),
        ("permissions: {admins: ['*']}\n", "permissions.admins: Extra inputs are not permitted"),
        ("silences: {max_broad: 0s}\n", "silences.max_broad: must be more than 0s and at most 30d"),
        ("silences: {max_broad: 31d}\n", "silences.max_broad"),
    ],
)
def test_bad_permission_entries_are_config_errors(config, yaml_text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(config(yaml_text))
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_every_bad_entry_is_reported_at_once(config) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(config("permissions: {ack: [alice, bob], silence: [U1, 'group:x']}\n"))
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "permissions.ack[0]",
        "permissions.ack[1]",
        "permissions.silence[0]",
        "permissions.silence[1]",
    ]


def test_groups_and_qualified_ids_build_the_allow_lists(config) -> None:
    settings = Settings.load(
        config(
            "permissions:\n"
            f"  groups: {{oncall: ['slack:U0ALICE', 'mattermost:{MM}'], local: [console]}}\n"
            "  ack: ['*']\n"
            "  silence: ['group:oncall', 'group:local', 'slack:U0BOB']\n"
            "  silence_all: ['group:local']\n"
            "  resolve: ['group:oncall']\n"
            "silences: {max_broad: 2h}\n"
        )
    )
    perms = settings.permissions.to_permissions()
    assert perms.silence == {"slack:U0ALICE", f"mattermost:{MM}", "console", "slack:U0BOB"}
    assert perms.silence_all == {"console"}
    assert perms.resolve == {"slack:U0ALICE", f"mattermost:{MM}"}
    assert perms.escalate == {"*"}  # a list not given keeps its default
    assert settings.silences.max_broad == timedelta(hours=2)


def test_defaults_are_safe(config) -> None:
    settings = Settings.load(config("{}\n"))
    assert settings.permissions.to_permissions() == Permissions()
    assert (settings.permissions.ack, settings.permissions.escalate) == (["*"], ["*"])
    assert settings.permissions.silence == settings.permissions.resolve == []
    assert settings.permissions.silence_all == []
    assert settings.silences.max_broad == timedelta(hours=4)


def test_config_check_shows_the_qualified_form_to_write(
    config, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config("permissions: {silence: [U0ALICE, alice]}\n")
    assert main(["config", "check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "permissions.silence[0]: 'U0ALICE' is a bare user id; write slack:U0ALICE" in err
    assert "permissions.silence[1]: 'alice' looks like a user name" in err

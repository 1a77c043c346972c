"""The `people:` and `oncall:` sections: every mistake is reported with its YAML path, and a
valid file builds the routing core's schedule (weekly hand-off day, custom lengths, restrictions,
overrides in the schedule's time zone)."""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import ConfigError
from bot.routing import oncall

MM = "rd49ehbqyjytddasoownkuqrxe"
PEOPLE = (
    "people:\n"
    "  alice: {name: Alice, slack: U0ALICE, email: alice@example.com}\n"
    f"  bob: {{mattermost: {MM}}}\n"
)


@pytest.fixture
def config(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "perfbot.yml"
        path.write_text(text)
        return path

    return write


def schedule(body: str, people: str = PEOPLE) -> str:
    return people + "oncall:\n  schedules:\n    primary:\n" + body


LAYER = "        - {rotation: weekly, start: 2026-06-01, participants: [alice, bob]}\n"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            schedule("      timezone: Europe/Pari\n"),
            "oncall.schedules.primary.timezone: unknown time zone 'Europe/Pari'; use an IANA name",
        ),
        (
            schedule(
                "      timezone: UTC\n      layers:\n"
                "        - {rotation: daily, start: 2026-06-01, participants: [alice, dave]}\n"
            ),
            "oncall.schedules.primary.layers[0].participants[1]: unknown person 'dave' "
            "(people: alice, bob)",
        ),
        (
            schedule(
                "      timezone: UTC\n      layers:\n"
                "        - {rotation: daily, start: 2026-06-01, participants: []}\n"
            ),
            "oncall.schedules.primary.layers[0].participants: a rotation needs at "
            "least one participant",
        ),
        (
            schedule(
                "      timezone: UTC\n      layers:\n"
                "        - {rotation: custom, start: 2026-06-01, participants: [alice]}\n"
            ),
            "oncall.schedules.primary.layers[0]: a custom rotation needs a length",
        ),
        (
            schedule(
                "      timezone: UTC\n      layers:\n"
                "        - {rotation: daily, handoff: '9am', start: 2026-06-01, "
                "participants: [alice]}\n"
            ),
            "oncall.schedules.primary.layers[0].handoff: '9am' is not a local time like 09:00",
        ),
        (
            schedule(
                "      timezone: UTC\n      layers:\n"
                "        - {rotation: daily, handoff_day: monday, start: 2026-06-01, "
                "participants: [alice]}\n"
            ),
            "oncall.schedules.primary.layers[0]: handoff_day is only for weekly rotations",
        ),
        (
            schedule(
                "      timezone: UTC\n      layers:\n"
                "        - {rotation: weekly, handoff_day: mondays, start: 2026-06-01, "
                "participants: [alice]}\n"
            ),
            "oncall.schedules.primary.layers[0].handoff_day: unknown day 'mondays'",
        ),
        (
            schedule(
                "      timezone: UTC\n      layers:\n"
                "        - {rotation: hourly, start: 2026-06-01, participants: [alice]}\n"
            ),
            "oncall.schedules.primary.layers[0].rotation: Input should be 'daily', 'weekly' or "
            "'custom'",
        ),
        (
            schedule(
                "      timezone: UTC\n      layers:\n"
                "        - rotation: daily\n          start: 2026-06-01\n"
                "          participants: [alice]\n          restrict: {hours: '9-17'}\n"
            ),
            "oncall.schedules.primary.layers[0].restrict.hours: '9' is not a local time",
        ),
        (
            schedule(
                "      timezone: UTC\n      overrides:\n"
                "        - {person: eve, start: 2026-06-01T09:00:00Z, end: 2026-06-01T10:00:00Z}\n"
            ),
            "oncall.schedules.primary.overrides[0].person: unknown person 'eve'",
        ),
        (
            schedule(
                "      timezone: UTC\n      overrides:\n"
                "        - {person: bob, start: 2026-06-01T09:00:00Z, end: 2026-06-01T08:00:00Z}\n"
            ),
            "oncall.schedules.primary: overrides[0]: end must be after start",
        ),
        ("people: {alice: {slack: alice}}\n", "people.alice.slack: 'alice' is not a"),
        (
            "people: {alice: {mattermost: alice}}\n",
            "people.alice.mattermost: 'alice' is not a Mattermost user id",
        ),
        ("people: {alice: {name: Alice}}\n", "people.alice: give at least one of"),
        ("people: {alice: {email: nope}}\n", "people.alice.email: 'nope' is not"),
        ("people: {Alice: {slack: U0ALICE}}\n", "people.Alice: a person id is lower-case"),
        (
            "people: {alice: {slack: U0A}, al: {slack: U0A}}\n",
            "people.al: slack:U0A is also people.alice",
        ),
        ("people: {alice: {slack: U0A, phone: 555}}\n", "people.alice.phone: Extra inputs"),
    ],
)
def test_mistakes_are_reported_with_their_yaml_path(config, yaml_text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(config(yaml_text))
    assert any(p.startswith(expected) or expected in p for p in caught.value.problems), (
        caught.value.problems
    )


def test_a_valid_file_builds_the_core_schedule(config) -> None:
    settings = Settings.load(
        config(
            schedule(
                "      timezone: Europe/Paris\n"
                "      layers:\n"
                "        - {name: base, rotation: weekly, handoff: '10:30', handoff_day: monday,"
                " start: 2026-06-03, participants: [alice, bob]}\n"
                "        - rotation: custom\n"
                "          length: 12h\n"
                "          start: 2026-06-01\n"
                "          participants: [bob]\n"
                "          restrict: {days: [mon, tue, wed, thu, fri], hours: '22:00-06:00'}\n"
                "        - {rotation: custom, length: 2d, start: 2026-06-01, participants: [alice]}\n"
                "      overrides:\n"
                "        - {person: bob, start: '2026-12-24 18:00', end: 2026-12-26T09:00:00+01:00}\n"
            )
        )
    )
    core = settings.oncall.schedule("primary")
    base, nights, twodays = core.layers
    # the weekly rotation starts on the first Monday on or after its start date
    assert (base.name, base.start, base.handoff, base.days) == (
        "base",
        date(2026, 6, 8),
        time(10, 30),
        7,
    )
    assert (nights.name, nights.days, nights.length) == ("layer 2", None, timedelta(hours=12))
    assert nights.restriction == oncall.Restriction(frozenset(range(5)), 22 * 60, 6 * 60)
    assert (twodays.days, twodays.length) == (2, None)
    [override] = settings.oncall.schedules["primary"].file_overrides()
    # a time without an offset is the schedule's local time (CET in December)
    assert override.start == datetime(2026, 12, 24, 17, tzinfo=UTC)
    assert override.end == datetime(2026, 12, 26, 8, tzinfo=UTC)
    assert settings.people["alice"].identities() == ("slack:U0ALICE",)
    assert settings.permissions.override == []


def test_the_job_schedules_section_is_untouched(config) -> None:
    settings = Settings.load(config("schedules: {escalate: 30s}\n" + PEOPLE))
    assert settings.schedules.escalate == timedelta(seconds=30)
    assert settings.oncall.schedules == {}


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"after": "5m", "notify": ["oncall:nope"]}, "unknown schedule in 'oncall:nope'"),
        ({"after": "5m", "notify": ["person:zed"]}, "unknown person 'zed'"),
        ({"after": "0s", "notify": ["oncall:primary"]}, "needs after > 0"),
    ],
)
def test_escalation_pages_only_configured_schedules_and_people(
    step: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.load(
            people={"ada": {"email": "ada@x.test"}},
            oncall={
                "schedules": {
                    "primary": {
                        "timezone": "UTC",
                        "layers": [
                            {"rotation": "daily", "start": "2026-01-01", "participants": ["ada"]}
                        ],
                    }
                }
            },
            channels={"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"}},
            routes=[{"name": "r", "notify": ["hook"], "escalation": [step]}],
        )
    assert message in str(raised.value)
    assert "routes[0].escalation[0]" in str(raised.value)

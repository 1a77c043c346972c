"""Every `/perf` command against real PostgreSQL and the real alert service: correct answers,
clear errors for bad arguments, unknown operations and ids, permissions refused and audited."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from bot import humanize
from bot.alerts import AlertService
from bot.clock import FrozenClock
from bot.commands import Commands, Reply, build_registry
from bot.commands.reply import Buttons, Fields, Paragraph, Table
from bot.config import Settings
from bot.models import ActorSource, AlertStatus, MergeRecord, MergeStatus
from bot.routing.transition import Actor
from bot.store import Store
from bot.store.queries import QUERIES
from tests.factories import make_new_alert
from tests.seed import World, seed

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ALICE = Actor(user_id="U1", user_name="alice", source=ActorSource.SLACK)
BOB_ID = "b0bb0bb0bb0bb0bb0bb0bb0bb0"
BOB = Actor(user_id=BOB_ID, user_name="bob", source=ActorSource.MATTERMOST)
SCHEDULE = {"escalate": timedelta(seconds=15), "cleanup": timedelta(days=1)}


@pytest.fixture
def settings() -> Settings:
    return Settings.load(
        permissions={
            "ack": ["*"],
            "escalate": ["*"],
            "silence": ["slack:U1"],
            "resolve": ["slack:U1"],
        }
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def service(store: Store, settings: Settings, clock: FrozenClock) -> AlertService:
    return AlertService(store, settings, clock)


@pytest.fixture
async def world(store: Store, service: AlertService) -> World:
    return await seed(store, service, NOW)


@pytest.fixture
def commands(
    store: Store, service: AlertService, settings: Settings, clock: FrozenClock, world: World
) -> Commands:
    return Commands(store, service, settings, clock, SCHEDULE, registry=build_registry())


def text_of(reply: Reply) -> str:
    """Everything a reply says, as one string (for `in` checks)."""
    parts = [reply.text]
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Fields):
            parts.extend(f"{k}: {v}" for k, v in block.items)
        elif isinstance(block, Table):
            parts.append(" | ".join(block.columns))
            parts.extend(" | ".join(r) for r in block.rows)
            parts.append(block.note or "")
        elif isinstance(block, Buttons):
            parts.extend(b.label for b in block.items)
    return "\n".join(parts)


def table_of(reply: Reply) -> Table:
    return next(b for b in reply.blocks if isinstance(b, Table))


async def test_help_lists_every_command(commands: Commands) -> None:
    reply = await commands.run("help", ALICE)
    names = [row[0] for row in table_of(reply).rows]
    for expected in ("anomalies", "alerts", "ack <id>", "silence", "route test", "status", "jobs"):
        assert any(expected in n for n in names), expected
    assert not reply.error
    assert not reply.in_channel
    assert (await commands.run("", ALICE)).text == reply.text
    assert (await commands.run("/perf", ALICE)).text == reply.text


@pytest.mark.parametrize("text", ["help ack", "ack --help", "/perf ack -h", "help acknowledge"])
async def test_every_command_explains_itself(commands: Commands, text: str) -> None:
    reply = await commands.run(text, ALICE)
    assert reply.text.startswith("ack: acknowledge an alert")
    assert "/perf ack <id> [note]" in text_of(reply)


MISTAKES = [
    ("anomalys", "unknown command 'anomalys'. Did you mean anomalies?"),
    ("frobnicate", "unknown command 'frobnicate'. Try /perf help."),
    ("route", "route needs a subcommand: /perf route test"),
    ("help nope", "unknown command 'nope'"),
    ("anomalies --since forever", "'forever' is not a duration"),
    ("anomalies --since 90d", "at most 30d"),
    ("anomalies --severity huge", "unknown severity 'huge'"),
    ("anomalies --color red", "unknown option --color; this command takes --since, --severity"),
    ("anomalies commit merge", "unexpected 'merge'"),
    ("anomalies comit", "unknown operation 'comit'; did you mean commit?"),
    ("anomalies xyzzy", "unknown operation 'xyzzy'; known operations include: "),
    ("ack", "which alert? give its id, e.g. /perf ack 42"),
    ("ack forty-two", "'forty-two' is not an alert id like 42"),
    ("ack 999", "there is no alert #999"),
    ("unack 1 please", "unack takes only an alert id"),
    ("silence commit", "for how long?"),
    ("silence 2h", "what should be silenced?"),
    ("silence comit 2h", "did you mean commit?"),
    ("silence kind=bogus 1h", "unknown kind 'bogus'"),
    ("silence label.=db 1h", "label.= needs a label name and a value"),
    ("silence label.team=db label.team=web 1h", "needs a label name and a value, once each"),
    ("silence commit 60d", "at most 30d"),
    ("unsilence 77", "there is no silence #77"),
    ("baselines nope", "unknown operation 'nope'"),
    ("alerts sideways", "say which alerts: open, acked"),
    ("route test op=commit", "give at least severity= and op="),
    ("route test severity=loud op=commit", "unknown severity 'loud'"),
]


async def test_mistakes_get_clear_answers(commands: Commands) -> None:
    # one database for the whole table: a fresh one per case would cost more than the checks
    for text, expected in MISTAKES:
        reply = await commands.run(text, ALICE)
        assert reply.error, text
        assert not reply.in_channel, text
        assert expected in text_of(reply), (text, text_of(reply))


async def test_bad_arguments_show_the_usage(commands: Commands) -> None:
    reply = await commands.run("anomalies --since soon", ALICE)
    assert "usage: /perf anomalies [op] [--since 24h] [--severity S]" in text_of(reply)


async def test_anomalies_filters_and_shows_alert_state(commands: Commands, world: World) -> None:
    reply = await commands.run("anomalies", ALICE)
    assert reply.text == "2 anomalies in the last 24h: 1 CRITICAL, 1 WARNING"
    rows = table_of(reply).rows
    assert [r[1] for r in rows] == ["merge", "commit"]
    assert rows[0][7] == f"#{world.alerts['merge'].id} open"
    assert not reply.in_channel
    assert (await commands.run("anomalies --since 2d", ALICE)).text.startswith("3 anomalies")
    only = await commands.run("anomalies --severity crit", ALICE)
    assert only.text == "1 anomaly at CRITICAL or worse in the last 24h: 1 CRITICAL"
    assert (await commands.run("anomalies COMMIT", ALICE)).text.startswith("1 anomaly of commit")
    assert (await commands.run("anomalies get_history", ALICE)).text == (
        "No anomalies of get_history in the last 24h."
    )


async def test_ack_unack_escalate_resolve(commands: Commands, store: Store, world: World) -> None:
    alert = world.alerts["commit"]
    listed = await commands.run("alerts", ALICE)
    assert listed.text == "2 open alerts"
    assert any(isinstance(b, Buttons) for b in listed.blocks)

    acked = await commands.run(f"ack #{alert.id} looking into it", ALICE)
    assert not acked.error, acked.text
    assert acked.text == f"Alert #{alert.id} acknowledged by alice (slack:U1)"
    assert acked.in_channel
    assert "Note: looking into it" in text_of(acked)
    [*_, event] = await store.alerts.events(alert.id)
    assert (event.action, event.actor, event.source, event.details["note"]) == (
        "acknowledged",
        "alice (slack:U1)",
        ActorSource.SLACK,
        "looking into it",
    )
    again = await commands.run(f"ack {alert.id}", BOB)
    assert again.error
    assert "already acknowledged by alice" in again.text
    assert (await commands.run("alerts acked", ALICE)).text == "1 acked alert"

    assert not (await commands.run(f"unack {alert.id}", BOB)).error
    escalated = await commands.run(f"escalate {alert.id} nobody is looking", BOB)
    assert not escalated.error, escalated.text
    resolved = await commands.run(f"resolve {alert.id} fixed by restart", ALICE)
    assert resolved.text == f"Alert #{alert.id} resolved by alice (slack:U1)"
    stored = await store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.RESOLVED
    assert (await commands.run("alerts resolved", ALICE)).text == "1 resolved alert"


async def test_refused_actions_say_why_and_are_audited(
    commands: Commands, store: Store, world: World
) -> None:
    alert = world.alerts["merge"]
    reply = await commands.run(f"resolve {alert.id}", BOB)
    assert reply.error
    assert not reply.in_channel
    assert "you are not allowed to resolve alerts" in reply.text
    [*_, event] = await store.alerts.events(alert.id)
    assert (event.action, event.actor, event.details["attempted"]) == (
        "refused",
        f"bob (mattermost:{BOB_ID})",
        "resolve",
    )
    stored = await store.alerts.get(alert.id)
    assert stored is not None
    assert stored.status is AlertStatus.OPEN
    refused = await commands.run("silence commit 1h", BOB)
    assert refused.error
    assert refused.text == (
        f"you are not allowed to silence alerts (ask an admin to add mattermost:{BOB_ID} "
        "to permissions.silence)"
    )
    assert await store.alerts.active_silences(NOW) == []


async def test_a_refused_unack_names_the_ack_list(
    store: Store, clock: FrozenClock, world: World
) -> None:
    strict = Settings.load(permissions={"ack": ["slack:U1"]})
    commands = Commands(
        store, AlertService(store, strict, clock), strict, clock, registry=build_registry()
    )
    alert = world.alerts["commit"]
    assert not (await commands.run(f"ack {alert.id}", ALICE)).error
    refused = await commands.run(f"unack {alert.id}", BOB)
    assert refused.text == (
        f"you are not allowed to unacknowledge alerts (ask an admin to add mattermost:{BOB_ID} "
        "to permissions.ack)"
    )


async def test_silence_list_and_unsilence(commands: Commands, store: Store, world: World) -> None:
    reply = await commands.run("silence commit 2h deploying the fix", ALICE)
    assert not reply.error, reply.text
    assert reply.in_channel
    [created] = await store.alerts.active_silences(NOW)
    assert created.match.operation == "commit"
    assert created.reason == "deploying the fix"
    assert created.expires_at == NOW + timedelta(hours=2)
    assert f"#{created.id}" in text_of(reply)
    assert "muted 1 open alert" in reply.text
    pattern = await commands.run("silence merge* severity=warning 30m", ALICE)
    assert not pattern.error, pattern.text
    by_id = await commands.run(f"silence alert={world.alerts['merge'].id} 1h", ALICE)
    assert not by_id.error, by_id.text
    listed = await commands.run("silences", BOB)
    assert listed.text == "3 active silences"
    assert "operation commit" in text_of(listed)
    ended = await commands.run(f"unsilence {created.id}", ALICE)
    assert ended.text.startswith(f"Silence #{created.id} ended")
    assert len(await store.alerts.active_silences(NOW)) == 2


async def test_silence_by_alertmanager_labels(commands: Commands, store: Store) -> None:
    reply = await commands.run("silence label.team=db label.env=prod 1h", ALICE)
    assert not reply.error, reply.text
    [created] = await store.alerts.active_silences(NOW)
    assert created.match.labels == {"team": "db", "env": "prod"}
    listed = await commands.run("silences", BOB)
    assert "label env=prod · label team=db" in text_of(listed)


async def test_bottlenecks_baselines_jobs_status_route(commands: Commands) -> None:
    pairs = await commands.run("bottlenecks", ALICE)
    assert "merge ↔ merge_branches" in text_of(pairs)
    assert (
        "merge, merge_branches → MERGE_PIPELINE_SATURATION (CRITICAL, r up to 0.93): "
        "Add merge worker threads." in text_of(pairs)
    )
    assert (await commands.run("bottlenecks --since 5m", ALICE)).text.startswith("No correlated")

    listed = await commands.run("baselines", ALICE)
    assert listed.text == "4 baselines"
    one = await commands.run("baselines merge", ALICE)
    assert one.text == "Baseline of merge: p99 50.0 ms"
    assert "Threshold: 125 ms (p99 × 2.5)" in text_of(one)

    jobs = await commands.run("jobs", ALICE)
    assert jobs.text == "2 jobs: overdue: cleanup; failing: cleanup"
    assert "cleanup: disk full" in text_of(jobs)

    status = await commands.run("status", ALICE)
    assert "overdue jobs: cleanup" in status.text
    assert "Open alerts: 2 (1 critical)" in text_of(status)

    route = await commands.run("route test severity=warning op=commit", ALICE)
    assert route.text.startswith("WARNING statistical on commit → route default")
    flags = await commands.run("route test --severity critical --operation merge", ALICE)
    assert flags.text.startswith("CRITICAL statistical on merge → route default")


async def test_trends(commands: Commands) -> None:
    reply = await commands.run("trends commit", ALICE)
    assert not reply.error, reply.text
    assert reply.text.startswith("commit, last 7 days (UTC days, today partial): p99 ")
    assert "vs baseline p99 40.0 ms" in reply.text
    rows = table_of(reply).rows
    assert table_of(reply).columns[0] == "day (UTC)"
    assert len(rows) == 7
    # calendar days, today (Friday 27 November, until noon) last and marked partial
    assert [r[0] for r in rows[:1] + rows[-2:]] == [
        "Sat 11-21",
        "Thu 11-26",
        "Fri 11-27 (today, partial)",
    ]
    assert int(rows[-1][1].replace(",", "")) + int(rows[-2][1].replace(",", "")) == 199
    assert "p99 per hour " in text_of(reply)
    assert reply.image is None  # the console shows no images
    hourly = await commands.run("trends merge --days 1", ALICE, images=True)
    assert table_of(hourly).columns[0] == "hour (UTC)"
    assert hourly.image is not None
    assert hourly.image.png.startswith(b"\x89PNG")
    one_day = await commands.run("trends commit --days 1", ALICE)
    assert one_day.text.startswith("commit, last 1 day (UTC days, today partial)")
    assert "Trend: no slope: it needs two days of data or more" in text_of(one_day)


async def test_trends_count_days_in_the_display_time_zone(
    store: Store, service: AlertService, clock: FrozenClock, world: World
) -> None:
    settings = Settings.load(display={"timezone": "Pacific/Kiritimati"})  # UTC+14
    commands = Commands(store, service, settings, clock, SCHEDULE, registry=build_registry())
    reply = await commands.run("trends commit --days 3", ALICE)
    assert reply.text.startswith("commit, last 3 days (Pacific/Kiritimati days, today partial)")
    rows = table_of(reply).rows
    assert table_of(reply).columns[0] == "day (Pacific/Kiritimati)"
    # noon UTC on the 27th is 02:00 on the 28th there: today has two hours
    assert [r[0] for r in rows] == ["Thu 11-26", "Fri 11-27", "Sat 11-28 (today, partial)"]


async def test_merges(commands: Commands, store: Store) -> None:
    reply = await commands.run("merges", ALICE)
    assert reply.text == "20 merges in the last 24h: 75% landed, p95 94.2 ms"
    said = text_of(reply)
    assert "With conflicts: 25%" in said
    assert "SLA: unknown: fewer than 10 merges in the 7 days before" in said
    assert "Slowest phase: conflict detection (by mean time)" in said
    # each phase labelled: its mean in ms, and how many merges it was the slowest of
    assert "conflict detection | 29.5 ms | 20 of 20 merges (100%)" in said
    assert "base finding | 14.5 ms | 0 of 20 merges (0%)" in said
    assert "feature-0 → main | 7 | 2 | 29%" in said
    assert (await commands.run("merges --since 30m", ALICE)).text == "No merges in the last 30m."
    slow = [
        MergeRecord(
            source_branch="hotfix",
            target_branch="main",
            status=MergeStatus.SUCCESS,
            total_ms=200.0,
            started_at=NOW - timedelta(minutes=10 + i),
        )
        for i in range(3)
    ]
    await store.metrics.add_merges(slow)
    judged = await commands.run("merges --since 1h", ALICE)
    assert judged.text == "3 merges in the last 1h: 100% landed, p95 200 ms, SLA CRITICAL"
    assert "SLA: CRITICAL for the last 1h (p95 200 ms vs p99 96.4 ms of the 7 days before)" in (
        text_of(judged)
    )
    assert "Slowest phase: unknown: no phase times, or a tie" in text_of(judged)


async def test_merges_sla_shows_the_last_hour_of_a_longer_window(
    commands: Commands, store: Store
) -> None:
    def merges(n: int, ms: float, first: timedelta, step: timedelta) -> list[MergeRecord]:
        return [
            MergeRecord(
                source_branch="feature",
                target_branch="main",
                status=MergeStatus.SUCCESS,
                total_ms=ms,
                started_at=NOW - first - i * step,
            )
            for i in range(n)
        ]

    await store.metrics.add_merges(
        merges(12, 100.0, timedelta(days=3), timedelta(minutes=5))  # the reference
        + merges(100, 50.0, timedelta(hours=2), timedelta(minutes=2))  # a quiet window
        + merges(3, 400.0, timedelta(minutes=5), timedelta(minutes=1))  # saturated now
    )
    reply = text_of(await commands.run("merges --since 6h", ALICE))
    assert "SLA: OK for the last 6h" in reply  # the window asked for is judged as a whole
    assert "SLA, last hour: CRITICAL (p95 400 ms of 3 merges)" in reply


async def test_mutating_commands_are_known(commands: Commands) -> None:
    assert commands.is_mutating("ack 4")
    assert commands.is_mutating("/perf silence commit 1h")
    assert not commands.is_mutating("anomalies")
    assert not commands.is_mutating("nonsense words")
    assert not commands.is_mutating("")


WORDS = st.sampled_from(
    [
        "--since",
        "--severity",
        "--days",
        "31",
        "--since=2h",
        "--help",
        "1h",
        "0s",
        "99999d",
        "99999999999d",
        "42",
        "#1",
        "1",
        "-1",
        "commit",
        "merge*",
        "kind=anomaly",
        "severity=warning",
        "alert=1",
        "op=",
        "=",
        '"',
        "“",
        "²",
        "٣",
        "9" * 30,
    ]
)
NAMES = st.sampled_from(
    [
        *("help", "anomalies", "alerts", "ack", "unack", "escalate", "resolve", "silence"),
        *("silences", "unsilence", "bottlenecks", "baselines", "jobs", "route test", "route"),
        *("status", "/perf", "trends", "merges"),
    ]
)
COMMAND_TEXT = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda name, args: " ".join([name, *args]),
        NAMES,
        st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=6),
    ),
)


@examples(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=COMMAND_TEXT)
async def test_any_text_gets_a_reply_and_never_crashes(commands: Commands, text: str) -> None:
    reply = await commands.run(text, ALICE)
    assert isinstance(reply, Reply)
    assert reply.text.strip()
    assert "failed unexpectedly" not in reply.text, text


async def test_operation_names_are_found_among_thousands_by_index(
    store: Store, commands: Commands
) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO perfbot.operations (name) "
            "SELECT 'svc' || g || '.endpoint_' || g FROM generate_series(1, 5000) g"
        )
        plan = "\n".join(
            r[0]
            for r in await conn.fetch("EXPLAIN " + QUERIES["operations_with_prefix"], "svc4%", 500)
        )
    assert "Index" in plan, plan
    reply = await commands.run("/perf trends SVC4711.Endpoint_4711", ALICE)
    assert "unknown operation" not in text_of(reply)
    reply = await commands.run("/perf trends svc4711.endpont_4711", ALICE)
    assert "did you mean svc4711.endpoint_4711" in text_of(reply)


async def test_status_shows_table_sizes_from_the_catalog(commands: Commands, store: Store) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.execute("ANALYZE perfbot.metrics")
        rows = await conn.fetchval("SELECT count(*) FROM perfbot.metrics")
    status = text_of(await commands.run("status", ALICE))
    [storage] = [line for line in status.splitlines() if "Storage" in line]
    assert (
        f"metrics {humanize.size(await metrics_bytes(store))} ({humanize.approx(rows)} rows)"
        in (storage)
    )


async def metrics_bytes(store: Store) -> int:
    async with store.connector.pool.acquire() as conn:
        n: int = await conn.fetchval("SELECT pg_total_relation_size('perfbot.metrics')")
    return n


async def test_every_listed_open_alert_gets_a_way_to_acknowledge_it(
    commands: Commands, store: Store
) -> None:
    async with store.alerts.transaction() as tx:
        for i in range(8):
            await tx.insert_alert(make_new_alert(fingerprint=f"anomaly:extra{i}"))
    reply = await commands.run("alerts open", ALICE)
    [buttons] = [b for b in reply.blocks if isinstance(b, Buttons)]
    assert len(buttons.items) == 5
    shown = {b.alert_id for b in buttons.items}
    listed = [int(row[0].lstrip("#")) for row in table_of(reply).rows]
    others = [i for i in listed if i not in shown]
    assert others  # more open alerts than buttons
    [hint] = [b for b in reply.blocks if isinstance(b, Paragraph)]
    assert hint.text == (
        f"Acknowledge the other {len(others)} open with /perf ack <id>: "
        + ", ".join(f"#{i}" for i in others)
    )
    everything = await commands.run("alerts all", ALICE)
    assert everything.text.endswith("alerts, in any state")


async def test_alert_shows_the_evidence_of_its_kind(commands: Commands, store: Store) -> None:
    details = {
        "value_ms": 343.0,
        "baseline_p99_ms": 218.0,
        "threshold_ms": 437.0,
        "statistical": {
            "rule": "robust",
            "z": 4.71,
            "outliers": 12,
            "samples": 40,
            "window_s": 300,
            "window_median_ms": 29.8,
            "expected_median_ms": 4.93,
        },
    }
    async with store.alerts.transaction() as tx:
        alert = await tx.insert_alert(
            make_new_alert(fingerprint="anomaly:shown", severity="WARNING", details=details)
        )
    said = text_of(await commands.run(f"alert {alert.id}", ALICE))
    assert "Window median: 29.8 ms vs 4.93 ms usual for this hour (×6.0)" in said
    assert "Above the old p99: 12 of 40 requests (30 %)" in said
    assert "437 ms" not in said  # the threshold rule did not fire: its line is not shown

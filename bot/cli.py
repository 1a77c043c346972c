"""`perfbot …`: parse the command line, build Settings, call into the app. Exit codes: 0 done,
1 the work failed (rejected input, unreachable database), 2 bad usage or configuration.

Each subcommand names its action as `module:function`; `main` imports that module only once the
arguments are parsed, so `perfbot --help` loads nothing but argparse, the configuration tools
(`bot.cli_config`) no database driver, and only the commands that need the database or the
bot (`bot.cli_actions`) load the store, the analysis and the chat front ends."""

import argparse
import importlib
from pathlib import Path
from typing import cast

from bot import __version__, errors, logs
from bot.terminal import EXIT_FAILED, EXIT_USAGE, Handler, error

ACTIONS = "bot.cli_actions"
ALERT_VERBS = "bot.cli_alerts"
CONFIG_TOOLS = "bot.cli_config"


def common_options(*, top: bool) -> argparse.ArgumentParser:
    """`--config` and `--verbose`, accepted before and after the command. Only the top level
    sets their defaults: a subcommand's default would overwrite what was given before it
    (`perfbot --config FILE detect` used to ignore FILE)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=None if top else argparse.SUPPRESS,
        help="YAML configuration (default: $PERFBOT_CONFIG)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="log debug details",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options(top=False)

    parser = argparse.ArgumentParser(
        prog="perfbot",
        description="Watches operation latencies in PostgreSQL, detects anomalies and shared "
        "bottlenecks, routes alerts to on-call and answers /perf commands.",
        parents=[common_options(top=True)],
    )
    parser.add_argument("--version", action="version", version=f"perfbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser(
        "demo", parents=[common], help="run the demo on an embedded PostgreSQL (no accounts needed)"
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where the demo database lives (default: a new temporary directory, removed after)",
    )
    demo.add_argument(
        "--duration",
        type=float,
        default=60.0,
        metavar="S",
        help="with --no-input: play S x speed simulated seconds, S seconds on a fast machine "
        "(default 60)",
    )
    demo.add_argument(
        "--speed",
        type=float,
        default=None,
        metavar="X",
        help="simulated seconds per second (default 10, with --no-input 60)",
    )
    demo.add_argument(
        "--start",
        metavar="TIME",
        help="the simulated clock's start, ISO 8601 UTC (default: now): the same start and "
        "seed give the same run",
    )
    demo.add_argument(
        "--no-input",
        action="store_true",
        help="run unattended for --duration, then print a summary (default: play the script, "
        "pausing after each incident for /perf commands)",
    )
    demo.set_defaults(handler=f"{ACTIONS}:cmd_demo")

    run = sub.add_parser(
        "run", parents=[common], help="run the bot (HTTP server, jobs, delivery, chat)"
    )
    # tests only: every replica reads its time from this file, which the test steps
    run.add_argument("--clock-file", type=Path, default=None, help=argparse.SUPPRESS)
    run.set_defaults(handler=f"{ACTIONS}:cmd_run")

    db = sub.add_parser("db", parents=[common], help="database schema and status")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser(
        "migrate", parents=[common], help="apply pending schema migrations"
    ).set_defaults(handler=f"{ACTIONS}:cmd_db_migrate")
    db_sub.add_parser(
        "status", parents=[common], help="server, schema version and table sizes"
    ).set_defaults(handler=f"{ACTIONS}:cmd_db_status")

    ing = sub.add_parser(
        "ingest",
        parents=[common],
        help="load metrics (or --merges) from a CSV file or stdin",
        description="Load a CSV into PostgreSQL with COPY. Metrics need the columns "
        "operation_type,duration_ms,recorded_at and may have branch,user_name; timestamps are "
        "ISO 8601 (without an offset they are UTC). A file with any bad row stores nothing.",
    )
    ing.add_argument("file", metavar="FILE", help="CSV file, or - for stdin")
    ing.add_argument("--merges", action="store_true", help="the file holds merge records")
    ing.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ing.set_defaults(handler=f"{ACTIONS}:cmd_ingest")

    detect = sub.add_parser(
        "detect",
        parents=[common],
        help="run one detection cycle now and print its anomalies",
        description="Refresh rollups, score the complete minutes since the last cycle (or "
        "--since), store the anomalies and update alerts (queued messages go out with the "
        "running bot). Says which minutes, operations and samples it scored.",
    )
    detect.add_argument(
        "--once", action="store_true", help="one cycle (the only mode; for clarity in scripts)"
    )
    detect.add_argument(
        "--since",
        metavar="DURATION",
        help="catch up: score the minutes up to DURATION ago (2h), also those scored before (an "
        "anomaly found again updates its alert); default: the minutes since the last cycle, at "
        "most 10 (on a fresh database, the last minute)",
    )
    detect.add_argument(
        "--json", action="store_true", help="print the anomalies (with their alert ids) as JSON"
    )
    detect.set_defaults(handler=f"{ACTIONS}:cmd_detect")

    correlate = sub.add_parser(
        "correlate",
        parents=[common],
        help="correlate the operations degraded now and print shared bottlenecks",
    )
    correlate.add_argument("--once", action="store_true", help="one run (the only mode)")
    correlate.add_argument("--json", action="store_true", help="print the correlations as JSON")
    correlate.set_defaults(handler=f"{ACTIONS}:cmd_correlate")

    rollups = sub.add_parser(
        "rollups", parents=[common], help="the per-minute and per-hour rollups detection reads"
    )
    rollups_sub = rollups.add_subparsers(dest="rollups_command", metavar="ACTION", required=True)
    rebuild = rollups_sub.add_parser(
        "rebuild",
        parents=[common],
        help="roll up pending history now (with --since, roll up again from then)",
        description="Roll up the history that is still pending (the source's history on a new "
        "database, back-dated rows loaded with `perfbot ingest`), newest first, one committed "
        "6-hour chunk at a time, with a progress bar. The running bot's backfill job does the "
        "same work every minute; both can run at once. Interrupted, it resumes where it "
        "stopped. With --since, the rollups from then on are rebuilt from the raw rows first.",
    )
    rebuild.add_argument(
        "--since",
        metavar="WHEN",
        help="also rebuild from WHEN on: a duration back from now (7d, 12h) or an ISO 8601 "
        "timestamp (2026-11-01T00:00Z; without an offset, UTC)",
    )
    rebuild.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    rebuild.set_defaults(handler=f"{ACTIONS}:cmd_rollups_rebuild")

    baselines = sub.add_parser(
        "baselines", parents=[common], help="per-operation latency baselines"
    )
    baselines_sub = baselines.add_subparsers(
        dest="baselines_command", metavar="ACTION", required=True
    )
    recalc = baselines_sub.add_parser(
        "recalc",
        parents=[common],
        help="recompute baselines now (replaced only when p99 moved ≥ min_change_pct, or --force)",
    )
    recalc.add_argument("--force", action="store_true", help="replace every baseline")
    recalc.add_argument("--json", action="store_true", help="print the baselines as JSON")
    recalc.set_defaults(handler=f"{ACTIONS}:cmd_baselines_recalc")

    route = sub.add_parser("route", parents=[common], help="routing tools")
    route_sub = route.add_subparsers(dest="route_command", metavar="ACTION", required=True)
    test = route_sub.add_parser(
        "test",
        parents=[common],
        help="dry run: which rule, which channels, which escalation, and why",
        description="Resolve a hypothetical alert against the configured routes without sending anything.",
    )
    test.add_argument("--severity", required=True, metavar="S", help="CRITICAL, WARNING or INFO")
    test.add_argument(
        "--kind",
        default="anomaly",
        metavar="K",
        help="anomaly, statistical, threshold, combined, degradation, bottleneck or merge (default: anomaly)",
    )
    test.add_argument(
        "--operation",
        action="append",
        default=[],
        metavar="OP",
        help="operation type (repeat for several; required unless --label is given)",
    )
    test.add_argument(
        "--bottleneck", metavar="B", help="bottleneck class, e.g. MERGE_PIPELINE_SATURATION"
    )
    test.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="K=V",
        help="a label of the alert, as Alertmanager's (repeat for several; kind external)",
    )
    test.add_argument("--json", action="store_true", help="print the decision as JSON")
    test.set_defaults(handler=f"{CONFIG_TOOLS}:cmd_route_test")

    chat = sub.add_parser(
        "chat",
        parents=[common],
        help="run a /perf command in the terminal, or a command prompt without one",
        description="Run one chat command as the local user and print the reply, e.g. "
        'perfbot chat "/perf anomalies --since 6h". Without a command, read commands line by '
        "line until EOF or quit. Exits 1 when a command was refused or failed.",
    )
    chat.add_argument("text", nargs="?", metavar="COMMAND", help='e.g. "/perf alerts"')
    chat.set_defaults(handler=f"{ACTIONS}:cmd_chat")

    add_alert_verbs(sub, common)
    oncall = sub.add_parser(
        "oncall",
        parents=[common],
        help="who is on call now (or --at TIME), and the next hand-offs",
        description="Show who is on call on each schedule of oncall.schedules (or SCHEDULE), "
        "from the rotations in the configuration and the overrides in the database, and the "
        "next hand-offs. Runs /perf oncall as the console user. Exits 1 when it failed.",
    )
    oncall.add_argument("schedule", nargs="?", metavar="SCHEDULE", help="one schedule's name")
    oncall.add_argument(
        "--at",
        metavar="TIME",
        help="another moment: 2026-12-24T18:00+01:00 (no offset: UTC), +6h or --at=-1d",
    )
    oncall.add_argument(
        "--next", type=int, metavar="N", help="how many hand-offs to list (1-20, default 5)"
    )
    oncall.set_defaults(handler="bot.cli_oncall:cmd_oncall")

    config = sub.add_parser("config", parents=[common], help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser(
        "check",
        parents=[common],
        help="validate the configuration and list every problem",
        description="Validate the configuration and list every problem. With --connect, also "
        "connect to the database (changing nothing) and check the source: its tables, columns, "
        "shape, time zone and perfbot's SELECT privilege on what it reads.",
    )
    check.add_argument(
        "--connect",
        action="store_true",
        help="also check the source in the database (read-only)",
    )
    check.set_defaults(handler=f"{CONFIG_TOOLS}:cmd_config_check")
    return parser


def _verb(
    actions: "argparse._SubParsersAction[argparse.ArgumentParser]",
    common: argparse.ArgumentParser,
    name: str,
    summary: str,
    handler: str,
) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, parents=[common], help=summary, description=summary + ".")
    parser.set_defaults(handler=handler)
    return parser


def add_alert_verbs(
    sub: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    """`alerts`, `silences` and `notify test`: each alert or silence verb runs the `/perf`
    command of the same name as the console user (`perfbot chat`'s path), so permissions,
    audit and replies are the chat's."""
    run_as = (
        "Runs the same command as /perf in chat, as the console user (permissions apply to "
        "the identity `console`). Exits 1 when it was refused or failed."
    )
    alerts = sub.add_parser(
        "alerts", parents=[common], help="list, show and act on alerts", description=run_as
    )
    verbs = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    handler = f"{ALERT_VERBS}:cmd_alerts"
    listing = _verb(verbs, common, "list", "list alerts (default: open)", handler)
    listing.add_argument(
        "selection",
        nargs="?",
        choices=("open", "acked", "active", "resolved", "all"),
        help="open: not acknowledged; acked; active: both; all: also resolved",
    )
    _verb(verbs, common, "show", "show one alert: state, facts, history", handler).add_argument(
        "id", metavar="ID", help="the alert's id"
    )
    for name, summary, takes in (
        ("ack", "acknowledge an alert: stops its escalation and reminders", "NOTE"),
        ("unack", "take back an acknowledgement: the alert escalates again", None),
        ("escalate", "run the alert's next escalation step now", "REASON"),
        ("resolve", "mark an alert resolved; a new detection fires a new alert", "NOTE"),
    ):
        verb = _verb(verbs, common, name, summary, handler)
        verb.add_argument("id", metavar="ID", help="the alert's id")
        if takes:
            verb.add_argument("text", nargs="*", metavar=takes, help="optional, recorded")

    silences = sub.add_parser(
        "silences", parents=[common], help="list, add and expire silences", description=run_as
    )
    verbs = silences.add_subparsers(dest="silences_command", metavar="ACTION", required=True)
    handler = f"{ALERT_VERBS}:cmd_silences"
    _verb(verbs, common, "list", "list the active silences", handler)
    add = _verb(verbs, common, "add", "mute matching alerts for a while (at most 30 days)", handler)
    add.add_argument(
        "matcher",
        nargs="+",
        metavar="WORD",
        help="what, for how long, why: e.g. commit 2h deploying · 'merge*' 30m · "
        "kind=degradation severity=warning 1d · alert=42 1h",
    )
    _verb(verbs, common, "expire", "end a silence now", handler).add_argument(
        "id", metavar="ID", help="the silence's id"
    )

    notify = sub.add_parser("notify", parents=[common], help="channel tools")
    notify_sub = notify.add_subparsers(dest="notify_command", metavar="ACTION", required=True)
    test = notify_sub.add_parser(
        "test",
        parents=[common],
        help="send a marked test message through a channel and report the platform's answer",
        description="Send a clearly marked TEST card through the configured channel, as alerts "
        "go, and print what the platform answered or its error with the fix (missing scope, "
        "bot not in channel, bad token or routing key, SMTP refusal). PagerDuty gets an "
        "info-severity trigger resolved at once. Exits 0 delivered, 1 refused, 2 unknown "
        "channel or missing settings.",
    )
    test.add_argument("channel", metavar="CHANNEL", help="a channel name from the configuration")
    test.add_argument("--json", action="store_true", help="print the outcome as JSON")
    test.set_defaults(handler=f"{ALERT_VERBS}:cmd_notify_test")


def load(action: str) -> Handler:
    """The action named `module:function`, importing its module now."""
    module, _, name = action.partition(":")
    return cast(Handler, getattr(importlib.import_module(module), name))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # imported once the arguments are parsed: --help and usage errors need neither
    import asyncio

    from bot.config import Settings

    try:
        settings = Settings.load(args.config)
    except errors.ConfigError as exc:
        error(exc.message)
        return EXIT_USAGE
    long_running = args.command in ("run", "demo")
    level = "DEBUG" if args.verbose else settings.log_level if long_running else "WARNING"
    logs.configure(level, settings.log_format)
    handler = load(args.handler)
    try:
        return asyncio.run(handler(args, settings))
    except errors.ConfigError as exc:
        error(exc.message)
        return EXIT_USAGE
    except errors.IngestError as exc:
        error(f"rejected, nothing stored: {exc.message}")
        return EXIT_FAILED
    except errors.CommandError as exc:
        error(exc.message)
        return EXIT_USAGE
    except errors.BotError as exc:
        error(exc.message)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130

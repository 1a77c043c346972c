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
CONFIG_TOOLS = "bot.cli_config"

# ---- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, metavar="FILE", help="YAML configuration (default: $PERFBOT_CONFIG)"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log debug details")

    parser = argparse.ArgumentParser(
        prog="perfbot",
        description="Watches operation latencies in PostgreSQL, detects anomalies and shared "
        "bottlenecks, routes alerts to on-call and answers /perf commands.",
        parents=[common],
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
        help="with --no-input: run S seconds (default 60)",
    )
    demo.add_argument(
        "--speed",
        type=float,
        default=60.0,
        metavar="X",
        help="simulated seconds per second (default 60)",
    )
    demo.add_argument(
        "--no-input",
        action="store_true",
        help="run unattended for --duration, then print a summary",
    )
    demo.set_defaults(handler=f"{ACTIONS}:cmd_demo")

    run = sub.add_parser(
        "run", parents=[common], help="run the bot (HTTP server, jobs, delivery, chat)"
    )
    run.set_defaults(handler=f"{ACTIONS}:cmd_run")

    db = sub.add_parser("db", parents=[common], help="database schema and status")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser(
        "migrate", parents=[common], help="apply pending schema migrations"
    ).set_defaults(handler=f"{ACTIONS}:cmd_db_migrate")
    db_sub.add_parser(
        "status", parents=[common], help="server, schema version and row counts"
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
        description="Refresh rollups, score the complete minutes since the last cycle, store the "
        "anomalies and update alerts (queued messages go out with the running bot).",
    )
    detect.add_argument(
        "--once", action="store_true", help="one cycle (the only mode; for clarity in scripts)"
    )
    detect.add_argument("--json", action="store_true", help="print the anomalies as JSON")
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
        required=True,
        metavar="OP",
        help="operation type (repeat for several)",
    )
    test.add_argument(
        "--bottleneck", metavar="B", help="bottleneck class, e.g. MERGE_PIPELINE_SATURATION"
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

    config = sub.add_parser("config", parents=[common], help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_sub.add_parser(
        "check", parents=[common], help="validate the configuration and list every problem"
    ).set_defaults(handler=f"{CONFIG_TOOLS}:cmd_config_check")
    return parser


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

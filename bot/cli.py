"""`perfbot …`: parse the command line, build Settings, call into the app. Exit codes: 0 done,
1 the work failed (rejected input, unreachable database), 2 bad usage or configuration."""

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot import __version__, app, errors, ingest, logs
from bot.clock import SystemClock
from bot.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


# ---- db -------------------------------------------------------------------------------------


async def cmd_db_migrate(args: argparse.Namespace, settings: Settings) -> int:
    store = await app.open_store(settings)
    try:
        status = await store.status()
    finally:
        await store.close()
    _out().print(f"schema at version {status.schema_version} ({status.url})")
    return EXIT_OK


async def cmd_db_status(args: argparse.Namespace, settings: Settings) -> int:
    store = await app.open_store(settings)
    try:
        status = await store.status()
    finally:
        await store.close()
    out = _out()
    out.print(f"[bold]database[/]  {status.url}{'  (embedded)' if status.embedded else ''}")
    out.print(f"[bold]server[/]    {status.server_version}")
    out.print(f"[bold]schema[/]    version {status.schema_version} of {status.latest_version}")
    table = Table("table", "rows", box=None, pad_edge=False)
    for name, n in status.row_counts.items():
        table.add_row(name, f"{n:,}")
    out.print(table)
    return EXIT_OK


# ---- ingest ---------------------------------------------------------------------------------


def _open_input(path: str) -> tuple[IO[bytes], int | None]:
    if path == "-":
        return sys.stdin.buffer, None
    file = Path(path)
    try:
        return file.open("rb"), file.stat().st_size
    except OSError as exc:
        raise errors.IngestError(None, f"cannot read {path}: {exc.strerror}") from None


async def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    stream, size = _open_input(args.file)
    started = time.perf_counter()
    store = await app.open_store(settings)
    try:
        if args.merges:
            records = ingest.merge_records_from_csv(stream)
            stored = await store.insert_merges(records)
            what = "merge records"
            span = ""
        else:
            show = sys.stderr.isatty() and not args.quiet
            with Progress(
                TextColumn("ingesting"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=_err(),
                disable=not show,
                transient=True,
            ) as progress:
                task = progress.add_task("ingest", total=size)
                csv = ingest.MetricCsv(
                    stream,
                    now=SystemClock().now(),
                    on_progress=lambda n: progress.advance(task, n),
                )
                stored = await store.copy_metrics_csv(csv)
            what = "metrics"
            s = csv.summary
            span = (
                f" recorded {s.first:%Y-%m-%d %H:%M} → {s.last:%Y-%m-%d %H:%M} UTC"
                if s.first and s.last
                else ""
            )
    finally:
        await store.close()
        if stream is not sys.stdin.buffer:
            stream.close()
    elapsed = time.perf_counter() - started
    rate = f", {stored / elapsed:,.0f} rows/s" if elapsed > 0 and stored else ""
    _out().print(f"stored {stored:,} {what}{span} in {elapsed:.1f} s{rate}")
    return EXIT_OK


# ---- config ---------------------------------------------------------------------------------


async def cmd_config_check(args: argparse.Namespace, settings: Settings) -> int:
    channels = settings.all_channels()
    out = _out()
    where = str(settings.config) if settings.config else "environment and defaults only"
    out.print(f"configuration OK ({where})")
    out.print(f"  channels: {', '.join(f'{n} ({c.type})' for n, c in channels.items())}")
    routes = ", ".join(r.name for r in settings.routes) or "none (seed-compatible default routing)"
    out.print(f"  routes:   {routes}")
    out.print(f"  source:   {settings.source.table}, merges from {settings.source.merges_table}")
    out.print(
        f"  database: {'PERFBOT_DATABASE_URL' if settings.database_url else 'embedded PostgreSQL'}"
    )
    return EXIT_OK


# ---- detect, correlate, baselines --------------------------------------------------------------


async def _jobs(settings: Settings) -> tuple["Any", "Any"]:
    from bot.alerts import AlertService
    from bot.jobs import Jobs

    store = await app.open_store(settings)
    clock = SystemClock()
    return store, Jobs(store, settings, AlertService(store, settings, clock))


async def cmd_detect(args: argparse.Namespace, settings: Settings) -> int:
    store, jobs = await _jobs(settings)
    try:
        found = await jobs.detect_once(SystemClock().now())
    finally:
        await store.close()
    if args.json:
        _out().print_json(data=[a.model_dump(mode="json") for a in found])
        return EXIT_OK
    out = _out()
    if not found:
        out.print("no anomalies in the minutes since the last cycle")
        return EXIT_OK
    table = Table(
        "operation",
        "kind",
        "severity",
        "value ms",
        "baseline p99",
        "z",
        "degr. %",
        "outliers",
        box=None,
    )
    for a in found:
        table.add_row(
            a.operation_type,
            a.kind.value,
            a.severity.value,
            _num(a.value_ms),
            _num(a.baseline_p99_ms),
            _num(a.z_score, 2),
            _num(a.degradation_pct),
            f"{a.outliers}/{a.samples}",
        )
    out.print(table)
    return EXIT_OK


async def cmd_correlate(args: argparse.Namespace, settings: Settings) -> int:
    store, jobs = await _jobs(settings)
    try:
        found = await jobs.correlate_once(SystemClock().now())
    finally:
        await store.close()
    if args.json:
        _out().print_json(
            data=[c.model_dump(mode="json", exclude={"id", "alert_id"}) for c in found]
        )
        return EXIT_OK
    out = _out()
    if not found:
        out.print("no correlated slowdowns among the operations degraded now")
        return EXIT_OK
    for c in found:
        out.print(
            f"[bold]{c.operation_a} ~ {c.operation_b}[/]  r={c.r:.2f} n={c.n} {c.severity.value} {c.bottleneck.value}"
        )
        for line in c.recommendations:
            out.print(f"    - {line}", markup=False)
    return EXIT_OK


async def cmd_baselines_recalc(args: argparse.Namespace, settings: Settings) -> int:
    store, jobs = await _jobs(settings)
    try:
        changes = await jobs.recalculate(
            SystemClock().now(), force=args.force, manual=not args.force
        )
    finally:
        await store.close()
    if args.json:
        _out().print_json(
            data=[
                {**b.model_dump(mode="json", exclude={"id"}), "change": c.model_dump(mode="json")}
                for b, c, _ in changes
            ]
        )
        return EXIT_OK
    table = Table(
        "operation", "samples", "p50", "p95", "p99", "x", "p99 change", "replaced", box=None
    )
    for b, c, _ in changes:
        change = "new" if c.change_pct is None else f"{c.change_pct:+.1f}%"
        table.add_row(
            b.operation_type,
            f"{b.sample_count:,}",
            _num(b.p50_ms),
            _num(b.p95_ms),
            _num(b.p99_ms),
            f"{b.multiplier:g}",
            change,
            "yes" if c.replaced else "kept",
        )
    _out().print(table if changes else "no operation has enough samples for a baseline yet")
    return EXIT_OK


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


# ---- route test ---------------------------------------------------------------------------


async def cmd_route_test(args: argparse.Namespace, settings: Settings) -> int:
    from bot.routing.rules import RouteQuery, Router, describe_steps

    query = RouteQuery.parse(args.severity, args.kind, args.operation, args.bottleneck)
    decision = Router.from_settings(settings).resolve(query)
    if args.json:
        _out().print_json(data=decision.model_dump(mode="json"))
        return EXIT_OK
    out = _out()
    ops = ", ".join(query.operation_types)
    out.print(f"[bold]{query.severity} {query.kind} on {ops}[/]")
    out.print(f"  route:      {decision.route}")
    out.print(f"  channels:   {', '.join(decision.channels) or 'none'}")
    out.print(f"  escalation: {describe_steps(decision.plan.steps)}")
    out.print("  why:")
    for line in decision.explanation:
        out.print(f"    {line}", markup=False)
    return EXIT_OK


# ---- chat -----------------------------------------------------------------------------------


async def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat import console

    store = await app.open_store(settings)
    try:
        return await console.main(settings, store, args.text, _out().out)
    finally:
        await store.close()


# ---- run ------------------------------------------------------------------------------------


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    await app.run(settings)
    return EXIT_OK


# ---- demo -----------------------------------------------------------------------------------


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import runner

    if args.speed <= 0 or args.duration <= 0:
        raise errors.BadArguments("--speed and --duration must be positive")
    options = runner.DemoOptions(
        duration=args.duration,
        speed=args.speed,
        interactive=not args.no_input,
        data_dir=args.data_dir,
    )
    return await runner.run(options, settings, _out())


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
    demo.set_defaults(handler=cmd_demo)

    run = sub.add_parser(
        "run", parents=[common], help="run the bot (HTTP server, jobs, delivery, chat)"
    )
    run.set_defaults(handler=cmd_run)

    db = sub.add_parser("db", parents=[common], help="database schema and status")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser(
        "migrate", parents=[common], help="apply pending schema migrations"
    ).set_defaults(handler=cmd_db_migrate)
    db_sub.add_parser(
        "status", parents=[common], help="server, schema version and row counts"
    ).set_defaults(handler=cmd_db_status)

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
    ing.set_defaults(handler=cmd_ingest)

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
    detect.set_defaults(handler=cmd_detect)

    correlate = sub.add_parser(
        "correlate",
        parents=[common],
        help="correlate the operations degraded now and print shared bottlenecks",
    )
    correlate.add_argument("--once", action="store_true", help="one run (the only mode)")
    correlate.add_argument("--json", action="store_true", help="print the correlations as JSON")
    correlate.set_defaults(handler=cmd_correlate)

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
    recalc.set_defaults(handler=cmd_baselines_recalc)

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
    test.set_defaults(handler=cmd_route_test)

    chat = sub.add_parser(
        "chat",
        parents=[common],
        help="run a /perf command in the terminal, or a command prompt without one",
        description="Run one chat command as the local user and print the reply, e.g. "
        'perfbot chat "/perf anomalies --since 6h". Without a command, read commands line by '
        "line until EOF or quit. Exits 1 when a command was refused or failed.",
    )
    chat.add_argument("text", nargs="?", metavar="COMMAND", help='e.g. "/perf alerts"')
    chat.set_defaults(handler=cmd_chat)

    config = sub.add_parser("config", parents=[common], help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_sub.add_parser(
        "check", parents=[common], help="validate the configuration and list every problem"
    ).set_defaults(handler=cmd_config_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(args.config)
    except errors.ConfigError as exc:
        _err().print(f"[red]{exc.message}[/]")
        return EXIT_USAGE
    long_running = args.command in ("run", "demo")
    level = "DEBUG" if args.verbose else settings.log_level if long_running else "WARNING"
    logs.configure(level, settings.log_format)
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args, settings))
    except errors.ConfigError as exc:
        _err().print(f"[red]{exc.message}[/]")
        return EXIT_USAGE
    except errors.IngestError as exc:
        _err().print(f"[red]rejected, nothing stored: {exc.message}[/]")
        return EXIT_FAILED
    except errors.CommandError as exc:
        _err().print(f"[red]{exc.message}[/]")
        return EXIT_USAGE
    except errors.BotError as exc:
        _err().print(f"[red]{exc.message}[/]")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130

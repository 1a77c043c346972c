"""What each `perfbot` subcommand that needs the database or the running bot does once its
arguments are parsed (`bot.cli` parses them, and imports this module only for these commands):
open the store, run the work, print the result for people or as JSON. Each returns the exit
code. The configuration tools are in `bot.cli_config`."""

import argparse
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from bot import errors, humanize, ingest, logs
from bot.clock import SystemClock
from bot.config import Settings
from bot.durations import parse_duration
from bot.store import Store
from bot.store.rollups import HOUR, BackfillChunk
from bot.store.source import SourceStatus
from bot.terminal import EXIT_OK, err_console, literal
from bot.terminal import out as _out

if TYPE_CHECKING:
    from bot.jobs import DetectReport, Jobs

# ---- db -------------------------------------------------------------------------------------


@asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[Store]:
    """The store, open (and migrated) for the block, closed after it."""
    store = await Store.connect(settings)
    try:
        yield store
    finally:
        await store.close()


async def cmd_db_migrate(args: argparse.Namespace, settings: Settings) -> int:
    async with _store(settings) as store:
        status = await store.status(datetime.now(UTC))
    _out().print(f"schema at version {status.schema_version} ({status.url})", markup=False)
    return EXIT_OK


async def cmd_db_status(args: argparse.Namespace, settings: Settings) -> int:
    async with _store(settings) as store:
        status = await store.status(datetime.now(UTC))
    out = _out()
    embedded = "  (embedded)" if status.embedded else ""
    out.print(f"[bold]database[/]  {literal(status.url)}{embedded}")
    out.print(f"[bold]server[/]    {literal(status.server_version)}")
    out.print(f"[bold]schema[/]    version {status.schema_version} of {status.latest_version}")
    table = Table("table", "size", "rows (estimate)", box=None, pad_edge=False)
    for t in status.tables:
        table.add_row(Text(t.name), humanize.size(t.bytes), humanize.approx(t.rows))
    out.print(table)
    if status.source is not None:
        _print_source(out, status.source)
    return EXIT_OK


def _print_source(out: Console, source: SourceStatus) -> None:
    """The source perfbot reads: what was found in the catalog and what it provides."""
    m, merges = source.layout.metrics, source.layout.merges
    newest = f"{source.newest:%Y-%m-%d %H:%M:%S} UTC" if source.newest else "no rows yet"
    zone = f"{m.timezone} (naive timestamps)" if m.naive else "timestamptz (no zone needed)"
    out.print(f"[bold]source[/]    {literal(m.table)}: {literal(m.shape)}")
    out.print(f"  rows      ~{source.rows:,} (estimate), newest {newest}")
    out.print(f"  time      {literal(zone)}")
    if source.failed_24h is not None:
        out.print(
            f"  failed    {source.failed_24h:,} failed operations in the last 24 h (not scored)"
        )
    out.print(f"  merges    {literal(merges.table) if merges else 'none in this source'}")
    for note in m.provides:
        out.print(f"  provides  {literal(note)}")


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
    store = await Store.connect(settings)
    try:
        if args.merges:
            records = ingest.merge_records_from_csv(stream)
            stored = await store.metrics.add_merges(records)
            what = "merge record"
            span = ""
        else:
            show = sys.stderr.isatty() and not args.quiet
            with Progress(
                TextColumn("ingesting"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err_console(),
                disable=not show,
                transient=True,
            ) as progress:
                task = progress.add_task("ingest", total=size)
                csv = ingest.MetricCsv(
                    stream,
                    now=SystemClock().now(),
                    on_progress=lambda n: progress.advance(task, n),
                )
                stored = await store.metrics.copy_csv(csv)
            what = "metric"
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
    # a rate says something about a bulk load only
    rate = f", {stored / elapsed:,.0f} rows/s" if elapsed > 0 and stored >= 1000 else ""
    _out().print(
        f"stored {humanize.plural(stored, what)}{span} in {elapsed:.1f} s{rate}", markup=False
    )
    if stored and not args.merges:
        # the rollups of back-dated rows are rebuilt by the back-fill, chunk by chunk
        _out().print(
            "their rollups follow: the running bot's backfill job, or `perfbot rollups rebuild`",
            markup=False,
        )
    return EXIT_OK


# ---- detect, correlate, baselines --------------------------------------------------------------


@asynccontextmanager
async def _jobs(settings: Settings) -> AsyncIterator["Jobs"]:
    """The jobs over an open store, for the block."""
    from bot.alerts import AlertService
    from bot.jobs import Jobs

    async with _store(settings) as store:
        yield Jobs(store, settings, AlertService(store, settings, SystemClock()))


async def cmd_detect(args: argparse.Namespace, settings: Settings) -> int:
    since = None
    if args.since is not None:
        try:
            since = parse_duration(args.since)
        except ValueError:
            raise errors.BadArguments(
                f"--since {args.since!r} is not a duration (2h, 90m)"
            ) from None
    async with _jobs(settings) as jobs:
        report = await jobs.detect_report(SystemClock().now(), since=since)
    found = report.anomalies
    if args.json:
        _out().print_json(data=[a.model_dump(mode="json") for a in found])
        return EXIT_OK
    out = _out()
    out.print(scored_text(report), markup=False)
    if not found:
        out.print("no anomalies")
        return EXIT_OK
    table = Table(
        "alert",
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
            f"#{a.alert_id}" if a.alert_id is not None else "",
            Text(a.operation_type),
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


def scored_text(report: "DetectReport") -> str:
    """What a detection cycle scored: "scored 12:40–12:58 UTC, 33 operations, 19,800 samples"."""
    if report.start >= report.end:
        return "nothing to score: the last cycle scored up to the last complete minute"
    ops, n = report.operations, report.samples
    return (
        f"scored {report.start:%H:%M}–{report.end:%H:%M} UTC, "
        f"{ops:,} operation{'' if ops == 1 else 's'}, {n:,} sample{'' if n == 1 else 's'}"
    )


async def cmd_correlate(args: argparse.Namespace, settings: Settings) -> int:
    async with _jobs(settings) as jobs:
        found = await jobs.correlate_once(SystemClock().now())
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
            f"[bold]{literal(c.operation_a)} ~ {literal(c.operation_b)}[/]  "
            f"r={c.r:.2f} n={c.n} {c.severity.value} {c.bottleneck.value}"
        )
        for line in c.recommendations:
            out.print(f"    - {line}", markup=False)
    return EXIT_OK


def _since(text: str, now: datetime) -> datetime:
    """`--since`: a duration back from `now`, or an ISO 8601 timestamp (UTC without offset)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        when = ingest.parse_timestamp(text)
    except ValueError:
        raise errors.BadArguments(
            f"--since {text!r} is neither a duration (7d, 12h) nor an ISO 8601 timestamp"
        ) from None
    if when >= now:
        raise errors.BadArguments(f"--since {text!r} is not in the past")
    return when


async def cmd_rollups_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    since = _since(args.since, now) if args.since else None
    started = time.perf_counter()
    chunks: list[BackfillChunk] = []
    async with _jobs(settings) as jobs:
        store = jobs.store
        await jobs.refresh(now)  # the first ever refresh queues the source's history
        if since is not None:
            await store.rollups.queue(since, now)
        backlog = await store.rollups.backlog()
        show = sys.stderr.isatty() and not args.quiet
        hours = backlog.span / HOUR
        with Progress(
            TextColumn("rolling up"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} h"),
            TimeRemainingColumn(),
            console=err_console(),
            disable=not show,
            transient=True,
        ) as progress:
            task = progress.add_task("rollups", total=hours)

            def advance(chunk: BackfillChunk) -> None:
                chunks.append(chunk)
                done = sum((c.end - c.start for c in chunks), timedelta()) / HOUR
                progress.update(task, completed=done, total=done + chunk.left.span / HOUR)

            await jobs.backfill(now, budget=None, on_chunk=advance)
    elapsed = time.perf_counter() - started
    span = sum((c.end - c.start for c in chunks), timedelta()) / HOUR
    _out().print(
        f"rolled up {span:,.0f} h of history in {humanize.plural(len(chunks), 'chunk')} in {elapsed:.1f} s; "
        "nothing is pending",
        markup=False,
    )
    return EXIT_OK


async def cmd_baselines_recalc(args: argparse.Namespace, settings: Settings) -> int:
    async with _jobs(settings) as jobs:
        changes = await jobs.recalculate(
            SystemClock().now(), force=args.force, manual=not args.force
        )
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
            Text(b.operation_type),
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


# ---- chat -----------------------------------------------------------------------------------


async def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat import console

    async with _store(settings) as store:
        return await console.main(settings, store, args.text, _out().out)


# ---- run ------------------------------------------------------------------------------------


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot import app
    from bot.clock import FileClock

    clock = None if args.clock_file is None else FileClock(args.clock_file)
    await app.run(settings, clock=clock)
    return EXIT_OK


# ---- demo -----------------------------------------------------------------------------------


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import runner

    speed = args.speed if args.speed is not None else 60.0 if args.no_input else 10.0
    if speed <= 0 or args.duration <= 0:
        raise errors.BadArguments("--speed and --duration must be positive")
    start = None
    if args.start is not None:
        try:
            start = ingest.parse_timestamp(args.start).replace(second=0, microsecond=0)
        except ValueError:
            raise errors.BadArguments(f"--start {args.start!r} is not an ISO 8601 time") from None
    log_path = None
    if not args.verbose:
        # The terminal is for the cards and the prompt: the logs go to a file (kept after the
        # demo, which says where at its start).
        fd, name = tempfile.mkstemp(prefix="perfbot-demo-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
        logs.configure(settings.log_level, settings.log_format, path=log_path)
    options = runner.DemoOptions(
        duration=args.duration,
        speed=speed,
        interactive=not args.no_input,
        data_dir=args.data_dir,
        log_path=log_path,
        start=start,
    )
    return await runner.run(options, settings, _out())

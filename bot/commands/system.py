"""perfbot about itself: its scheduled jobs (last runs, failures, overdue), its overall status
(database, alerts, silences, delivery queue, channels) and routing dry runs."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import __version__, errors, humanize, jobhealth
from bot.commands import format as fmt
from bot.commands.args import parse
from bot.commands.context import CommandContext
from bot.commands.registry import PREFIX, Registry, command
from bot.commands.reply import Fields, Paragraph, Reply, table
from bot.models import AlertStatus, JobRun, JobStatus, Severity
from bot.routing.rules import RouteQuery, describe_steps
from bot.store import TableSize

OVERDUE_FACTOR = 2  # a job is overdue after twice its usual gap without a run
STATS_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class JobState:
    name: str
    every: timedelta | None
    last: JobRun | None
    runs: int
    failures: int
    overdue: bool

    @property
    def failing(self) -> bool:
        return self.last is not None and self.last.status is JobStatus.FAILED


async def job_states(ctx: CommandContext) -> list[JobState]:
    """Every scheduled or recorded job with its latest run and the last day's failures."""
    now = ctx.now
    latest = {r.job: r for r in await ctx.store.jobs.latest()}
    stats = await ctx.store.jobs.stats(now - STATS_WINDOW)
    states = []
    for name in sorted(set(ctx.schedule) | set(latest)):
        every = ctx.schedule.get(name)
        last = latest.get(name)
        overdue = (
            every is not None
            and last is not None
            and now - last.started_at > OVERDUE_FACTOR * every
        )
        s = stats.get(name)
        states.append(
            JobState(name, every, last, s.runs if s else 0, s.failures if s else 0, overdue)
        )
    return states


def _job_row(j: JobState, now: datetime) -> tuple[str, ...]:
    last = j.last
    flag = "OVERDUE" if j.overdue else "FAILED" if j.failing else ""
    return (
        j.name,
        fmt.span(j.every) if j.every else "–",
        fmt.ago(last.started_at, now) if last else "never",
        last.status.value if last else "–",
        fmt.ms(last.duration_ms) if last else "–",
        f"{j.failures}/{j.runs}",
        flag,
    )


@command("jobs", "jobs", "scheduled jobs: last runs, failures in 24h, overdue")
async def jobs(ctx: CommandContext, args: list[str]) -> Reply:
    parse(args, max_positional=0)
    states = await job_states(ctx)
    if not states:
        return Reply(text="No jobs are scheduled and none has run yet.")
    now = ctx.now
    overdue = [j.name for j in states if j.overdue]
    failing = [j.name for j in states if j.failing]
    problems = []
    if overdue:
        problems.append(f"overdue: {', '.join(overdue)}")
    if failing:
        problems.append(f"failing: {', '.join(failing)}")
    errors_ = [f"{j.name}: {j.last.error}" for j in states if j.failing and j.last and j.last.error]
    return Reply.of(
        f"{len(states)} jobs: " + ("; ".join(problems) if problems else "all on schedule"),
        table(
            ("job", "every", "last run", "status", "took", "failed 24h", ""),
            [_job_row(j, now) for j in states],
        ),
        Paragraph("\n".join(errors_[:5])) if errors_ else None,
    )


@command("status", "status", "perfbot's health: database, alerts, deliveries, jobs")
async def status(ctx: CommandContext, args: list[str]) -> Reply:
    parse(args, max_positional=0)
    now = ctx.now
    db = await ctx.store.health()
    if not db.get("ok"):
        return Reply(text=f"perfbot {__version__}: database down ({db.get('error')})", error=True)
    counts = await ctx.store.alerts.counts()
    silences = await ctx.store.alerts.active_silences(now)
    queue = await ctx.store.deliveries.stats(now)
    tables = await ctx.store.table_sizes()
    states = await job_states(ctx)
    open_ = sum(n for (state, _), n in counts.items() if state is AlertStatus.OPEN)
    acked = sum(n for (state, _), n in counts.items() if state is AlertStatus.ACKNOWLEDGED)
    critical = counts.get((AlertStatus.OPEN, Severity.CRITICAL), 0)
    backlog = await ctx.store.rollups.backlog()
    problems = []
    if queue.dead:
        problems.append(f"{queue.dead} undeliverable message{'s' if queue.dead != 1 else ''}")
    overdue = [j.name for j in states if j.overdue]
    failing = [j.name for j in states if j.failing]
    if overdue:
        problems.append(f"overdue jobs: {', '.join(overdue)}")
    if failing:
        problems.append(f"failing jobs: {', '.join(failing)}")
    recent = await ctx.store.jobs.last_runs(ctx.schedule, jobhealth.FAILED_RUNS)
    unhealthy = jobhealth.job_problems(ctx.schedule, recent, now)
    problems.extend(unhealthy)
    channels = ctx.settings.all_channels()
    oldest = (
        f", oldest {fmt.span(timedelta(seconds=round(queue.oldest_s)))}" if queue.oldest_s else ""
    )
    facts = Fields(
        (
            ("Database", f"ok ({db.get('latency_ms')} ms)"),
            ("Open alerts", f"{open_} ({critical} critical)"),
            ("Acknowledged", str(acked)),
            ("Silences", str(len(silences))),
            ("Delivery queue", f"{queue.pending} pending, {queue.sending} sending{oldest}"),
            ("Undeliverable", str(queue.dead)),
            ("Jobs", f"{len(states)} ({len(overdue)} overdue, {len(failing)} failing)"),
            ("Storage", _storage(tables)),
            ("Back-fill", _backfill(backlog.span, backlog.oldest)),
            ("Channels", ", ".join(f"{n} ({c.type})" for n, c in channels.items())),
        )
    )
    headline = f"perfbot {__version__}: " + ("; ".join(problems) if problems else "all good")
    return Reply.of(headline, facts)


STORAGE_TOP = 4  # tables named in the status line, largest first


def _storage(tables: list[TableSize]) -> str:
    """`2.1 GB: metrics 1.6 GB (~8.1M rows), rollup_minute 310 MB (~1.2M rows), …`."""
    total = humanize.size(sum(t.bytes for t in tables))
    top = ", ".join(
        f"{t.name} {humanize.size(t.bytes)} ({humanize.approx(t.rows)} rows)"
        for t in tables[:STORAGE_TOP]
    )
    return f"{total}: {top}" if top else total


def _backfill(span: timedelta, oldest: datetime | None) -> str:
    """The rollup back-fill's progress: complete, or how much history is still pending."""
    if oldest is None:
        return "complete"
    return f"{fmt.span(span)} of history pending (from {oldest:%Y-%m-%d %H:%M} UTC)"


ROUTE_KEYS = {
    "severity": "severity",
    "kind": "kind",
    "op": "operation",
    "operation": "operation",
    "bottleneck": "bottleneck",
}


@command(
    "route test",
    "route test severity=S [kind=K] op=OP [op=OP2] [bottleneck=B]",
    "dry run: which route, which channels, which escalation, and why",
    details=f"Also --severity S --kind K --operation OP. Example: {PREFIX} route test "
    "severity=warning kind=degradation op=merge",
)
async def route_test(ctx: CommandContext, args: list[str]) -> Reply:
    given: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("--"):  # --severity X is severity=X
            key, has_value, value = word[2:].partition("=")
            if not has_value:
                if i + 1 >= len(args):
                    raise errors.BadArguments(f"{word} needs a value")
                i += 1
                value = args[i]
            word = f"{key}={value}"
        key, has_value, value = word.partition("=")
        name = ROUTE_KEYS.get(key.lower())
        if not has_value or name is None or not value:
            raise errors.BadArguments(f"expected key=value with keys {', '.join(ROUTE_KEYS)}")
        given.setdefault(name, []).append(value)
        i += 1
    if "severity" not in given or "operation" not in given:
        raise errors.BadArguments("give at least severity= and op=")
    query = RouteQuery.parse(
        given["severity"][-1],
        given.get("kind", ["anomaly"])[-1],
        given["operation"],
        given.get("bottleneck", [None])[-1],
    )
    decision = ctx.alerts.route_test(query)
    ops = ", ".join(query.operation_types)
    channels = ", ".join(decision.channels) or "none"
    return Reply.of(
        f"{query.severity.value} {query.kind.value} on {ops} → route {decision.route}: {channels}",
        Fields(
            (
                ("Route", decision.route),
                ("Channels", channels),
                ("Escalation", describe_steps(decision.plan.steps)),
            )
        ),
        Paragraph("Why\n" + "\n".join(f"• {line}" for line in decision.explanation))
        if decision.explanation
        else None,
    )


def register(registry: Registry) -> None:
    """Add jobs, status and route test to `registry`."""
    registry.add(jobs, status, route_test)

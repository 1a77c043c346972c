"""`perfbot config check` and `perfbot route test`: what the configuration says, read without a
database, so they start quickly. `config check` prints plain lines (rich and the routing core
would double its start-up time); `route test` imports the routing core when it runs."""

import argparse
import dataclasses

from bot import errors
from bot.config import Settings
from bot.terminal import EXIT_OK, literal
from bot.terminal import out as _out


async def cmd_config_check(args: argparse.Namespace, settings: Settings) -> int:
    channels = settings.all_channels()
    where = str(settings.config) if settings.config else "environment and defaults only"
    print(f"configuration OK ({where})")
    print(f"  channels: {', '.join(f'{n} ({c.type})' for n, c in channels.items())}")
    routes = ", ".join(r.name for r in settings.routes) or "none (seed-compatible default routing)"
    print(f"  routes:   {routes}")
    merges = settings.source.merges_table or "nowhere (no merge records)"
    print(f"  source:   {settings.source.table}, merges from {merges}")
    print(f"  http:     {settings.http.describe()}")
    print(
        f"  database: {'PERFBOT_DATABASE_URL' if settings.database_url else 'embedded PostgreSQL'}"
    )
    if getattr(args, "connect", False):
        await _check_source(settings)
    return EXIT_OK


async def _check_source(settings: Settings) -> None:
    """Inspect the source in the database without changing anything; ConfigError (exit 2)
    names what is missing, DatabaseUnavailable (exit 1) when it cannot be reached."""
    from bot.store import Store

    secret = settings.database_url
    store = await Store.open(secret.get_secret_value() if secret else None, settings.data_dir)
    try:
        layout = await store.source.inspect(settings.source)
    finally:
        await store.close()
    m = layout.metrics
    zone = f"{m.timezone} (naive timestamps)" if m.naive else "timestamptz"
    print(f"  found:    {m.table}: {m.shape}; time {zone}; readable")
    print(f"  merges:   {layout.merges.table if layout.merges else 'none in this source'}")


async def cmd_route_test(args: argparse.Namespace, settings: Settings) -> int:
    from bot.config import build
    from bot.routing.rules import RouteQuery, describe_steps

    labels: dict[str, str] = {}
    for pair in args.label:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise errors.BadArguments(f"--label {pair!r}: write it as name=value")
        labels[name.strip()] = value.strip()
    if not args.operation and not labels:
        raise errors.BadArguments("give --operation OP (or --label K=V for an external alert)")
    kind = "external" if labels and args.kind == "anomaly" else args.kind
    query = RouteQuery.parse(args.severity, kind, args.operation, args.bottleneck)
    query = dataclasses.replace(query, labels=labels)
    decision = build.router(settings).resolve(query)
    if args.json:
        _out().print_json(data=decision.model_dump(mode="json"))
        return EXIT_OK
    out = _out()
    ops = ", ".join(query.operation_types) or "no operation"
    out.print(f"[bold]{literal(f'{query.severity} {query.kind} on {ops}')}[/]")
    if labels:
        shown = ", ".join(f"{k}={v}" for k, v in labels.items())
        out.print(f"  labels:     {shown}", markup=False)
    out.print(f"  route:      {decision.route}", markup=False)
    out.print(f"  channels:   {', '.join(decision.channels) or 'none'}", markup=False)
    out.print(f"  escalation: {describe_steps(decision.plan.steps)}", markup=False)
    out.print("  why:")
    for line in decision.explanation:
        out.print(f"    {line}", markup=False)
    return EXIT_OK

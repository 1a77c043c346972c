"""`perfbot config check` and `perfbot route test`: what the configuration says, read without a
database, so they start quickly."""

import argparse

from bot.routing.rules import RouteQuery, Router, describe_steps
from bot.settings import Settings
from bot.terminal import EXIT_OK
from bot.terminal import out as _out


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


async def cmd_route_test(args: argparse.Namespace, settings: Settings) -> int:
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

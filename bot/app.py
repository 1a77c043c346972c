"""The composition root: builds the store, notifiers, alert service, scheduler, delivery worker,
the `/perf` command registry and service, and the HTTP server with its chat front ends from
`Settings`, runs them together, and shuts them down in order on SIGTERM or SIGINT: stop taking
work, let in-flight deliveries and jobs finish (bounded), release claims."""

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from bot import alertmanager, errors, jobhealth, listener, server
from bot.alerts import AlertService
from bot.chat import mattermost, slack
from bot.chat.mattermost_users import MattermostUsers
from bot.chat.replay import ReplayGuard
from bot.clock import Clock, SystemClock
from bot.commands import Commands, build_registry
from bot.config import HttpSettings, Settings
from bot.delivery import DeliveryWorker
from bot.jobs import Jobs
from bot.metrics import Metrics
from bot.notify import Notifier
from bot.notify.heartbeat import Heartbeat
from bot.notify.people import person_channel_types
from bot.notify.probe import ChannelTester
from bot.notify.registry import build_notifiers, close_all
from bot.scheduler import JobRunner, Scheduler
from bot.series import SeriesProvider
from bot.store import Store

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0
DETECT = "detect"  # the job whose success the heartbeat and /healthz report
LINGER_S = 2.0  # after an early answer (401, 408, 413), unread body is discarded this long


def replica_name(settings: Settings) -> str:
    return settings.replica or f"{socket.gethostname()}:{os.getpid()}"


def http_access(http: HttpSettings, *, internal: bool) -> server.Access:
    """What a listener serves: the internal one the ingest API, /metrics and the full /healthz;
    the public one the chat endpoints and a status-only /healthz when there is an internal one,
    else everything, with /metrics and the /healthz details behind a token unless it is bound
    to loopback."""
    split = http.internal is not None
    return server.Access(
        api=internal or not split,
        ingest=http.ingest,
        trusted=internal or (not split and http.public_is_private),
        tokens=http.token_bytes(),
        body_timeout=http.body_timeout,
    )


@dataclass
class Bot:
    """Everything one perfbot process runs, wired together."""

    settings: Settings
    store: Store
    clock: Clock
    notifiers: dict[str, Notifier]
    alerts: AlertService
    jobs: Jobs
    scheduler: Scheduler
    worker: DeliveryWorker
    runner: JobRunner
    name: str
    metrics: Metrics
    commands: Commands
    listening: dict[str, str] = field(default_factory=dict)  # listener → URL, once serving
    started: datetime | None = None  # when this process began scheduling
    heartbeat: Heartbeat | None = None  # called after each successful detect cycle

    @classmethod
    def build(
        cls, settings: Settings, store: Store, clock: Clock, *, speed: float = 1.0, **notify: Any
    ) -> "Bot":
        name = replica_name(settings)
        metrics = Metrics()
        notifiers = build_notifiers(settings, **notify)
        alerts = AlertService(store, settings, clock)
        jobs = Jobs(store, settings, alerts, owner=name)
        heartbeat = Heartbeat.configured(settings.heartbeat)
        runner = JobRunner(
            store,
            clock,
            name,
            metrics,
            after_success={DETECT: heartbeat.beat} if heartbeat is not None else None,
        )
        channel_types: dict[str, str] = {n: c.type for n, c in settings.all_channels().items()}
        channel_types.update(person_channel_types(settings))
        worker = DeliveryWorker(
            store,
            notifiers,
            channel_types,
            settings.delivery,
            clock,
            name,
            metrics=metrics,
            series=SeriesProvider(store, clock),
            links=settings.link_rules(),
        )
        specs = jobs.specs()
        scheduler = Scheduler(runner, specs, speed=speed)
        schedule = {spec.name: spec.expected_gap() for spec in specs}
        commands = Commands(
            store,
            alerts,
            settings,
            clock,
            schedule,
            registry=build_registry(),
            channels=ChannelTester(settings, clock.now, notifiers),
            users=MattermostUsers.configured(settings.mattermost),
        )
        return cls(
            settings,
            store,
            clock,
            notifiers,
            alerts,
            jobs,
            scheduler,
            worker,
            runner,
            name,
            metrics,
            commands,
            heartbeat=heartbeat,
        )

    def http_app(self, *, internal: bool = False) -> web.Application:
        """The public listener's app (chat front ends included), or the internal one's."""
        access = http_access(self.settings.http, internal=internal)
        app = server.create_app(
            self.store,
            self.clock,
            max_body_bytes=self.settings.http.max_body_bytes,
            lookback=self.settings.detection.lookback,
            access=access,
        )
        app[server.HEALTH_KEY]["scheduler"] = self._scheduler_health
        app[server.HEALTH_KEY]["delivery"] = self._delivery_health
        app[server.HEALTH_KEY]["channels"] = self._channel_health
        app[server.HEALTH_KEY]["jobs"] = self._jobs_health
        if access.api:
            metrics = self.metrics.handler(self._refresh_metrics)
            app.router.add_get(
                "/metrics", metrics if access.trusted else server.protect(app, metrics)
            )
        alertmanager.mount(app, self.alerts, self.settings.alertmanager)
        if not internal:
            self._mount_chat(app)
        return app

    def _mount_chat(self, app: web.Application) -> None:
        """The configured chat front ends (/slack/events, /mattermost/*) over `commands`."""
        latency = self.metrics.slash_seconds
        replays = ReplayGuard(self.store.requests)
        slack.mount(
            app,
            self.commands,
            self.settings.slack,
            observe=latency.labels("slack").observe,
            replays=replays,
        )
        mattermost.mount(
            app,
            self.commands,
            self.settings.mattermost,
            observe=latency.labels("mattermost").observe,
            replays=replays,
            alerts=self.store.alerts.get,
        )

    async def _refresh_metrics(self) -> None:
        try:
            stats = await self.store.deliveries.stats(self.clock.now())
            known, _ = await self.store.operations.counts()
            skipped = await self.store.operations.skipped()
            late = await self.store.rollups.late_rows()
        except errors.StoreError:
            return  # keep the last values; /healthz says the database is down or slow
        self.metrics.queue_depth.labels("pending").set(stats.pending)
        self.metrics.queue_depth.labels("sending").set(stats.sending)
        self.metrics.queue_depth.labels("dead").set(stats.dead)
        self.metrics.oldest_pending.set(stats.oldest_s or 0.0)
        self.metrics.operations.set(known)
        for reason, rows in skipped.items():
            self.metrics.skipped_rows.labels(reason).set(rows)
        self.metrics.late_rows.set(late)

    async def _scheduler_health(self) -> dict[str, Any]:
        return self.scheduler.health()

    async def _delivery_health(self) -> dict[str, Any]:
        return self.worker.loop_health()

    async def _jobs_health(self) -> dict[str, Any]:
        """Unhealthy when a job failed its last runs or is long overdue (`bot.jobhealth`)."""
        schedule = self.commands.schedule
        recent = await self.store.jobs.last_runs(schedule, jobhealth.FAILED_RUNS)
        now = self.clock.now()
        report: dict[str, Any] = {}
        last_success: dict[str, datetime | None] = {}
        if DETECT in schedule:
            # the last successful detect cycle: its age, and a problem past 3 intervals
            success = await self.store.jobs.last_success(DETECT)
            last_success[DETECT] = success
            report["last_detect_success"] = success.isoformat() if success else None
            report["last_detect_age_s"] = (
                round((now - success).total_seconds(), 1) if success else None
            )
        problems = jobhealth.job_problems(
            schedule, recent, now, started=self.started, last_success=last_success
        )
        return {"ok": not problems, "problems": problems, **report}

    async def _channel_health(self) -> dict[str, Any]:
        circuits = self.worker.health()
        return {"ok": all(c["state"] != "open" for c in circuits.values()), "circuits": circuits}

    async def serve(
        self,
        stop: asyncio.Event,
        on_ready: Callable[[], Awaitable[None]] | None = None,
        *,
        schedule: bool = True,
    ) -> None:
        """Run until `stop` is set. Without `schedule` no job fires by itself: the caller runs
        them through `runner` (the unattended demo, on its stepped clock)."""
        http = self.settings.http
        wanted = [("public", http.host, http.port)]
        if http.internal is not None:
            wanted.append(("internal", http.internal.host, http.internal.port))
        cap = listener.connection_cap(http.max_connections, len(wanted), listener.raise_fd_limit())
        runners: list[web.AppRunner] = []
        guards: list[listener.Guard] = []
        worker_stop = asyncio.Event()
        accept_errors = listener.AcceptErrors(asyncio.get_running_loop())
        try:
            accept_errors.install()
            for name, host, port in wanted:
                # An idle keep-alive connection must send its next request head in time, too.
                app = self.http_app(internal=name == "internal")
                runner = web.AppRunner(
                    app,
                    access_log=None,
                    keepalive_timeout=http.header_timeout,
                    lingering_time=LINGER_S,
                )
                await runner.setup()
                runners.append(runner)
                guard = listener.Guard(name, cap, http.header_timeout)
                site = listener.GuardedSite(runner, host, port, guard)
                await site.start()
                self.listening[name] = site.name
                guards.append(guard)
            self.started = self.clock.now()
            if schedule:
                self.scheduler.start()
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.worker.run(worker_stop))
                logger.info(
                    "perfbot running",
                    extra={
                        "action": "started",
                        "replica": self.name,
                        "http": self.listening,
                        "ingest": _ingest_mode(http),
                        "max_connections": cap,
                        "database": self.store.connector.masked_url,
                        "channels": sorted(self.notifiers),
                    },
                )
                if on_ready is not None:
                    await on_ready()
                await stop.wait()
                logger.info("shutting down", extra={"action": "stopping"})
                await self.scheduler.stop(grace=SHUTDOWN_GRACE_S)
                worker_stop.set()
        finally:
            worker_stop.set()
            await self.scheduler.stop(grace=0)
            for runner in runners:
                await runner.cleanup()
            accept_errors.uninstall()
            accept_errors.throttled.flush()
            for guard in guards:
                guard.flush()
            server.flush_logs()
            await close_all(self.notifiers)
            if self.heartbeat is not None:
                await self.heartbeat.aclose()


def _ingest_mode(http: HttpSettings) -> str:
    if not http.ingest:
        return "off"
    return "bearer token" if http.ingest_tokens else "open (loopback or internal listener only)"


async def run(settings: Settings, *, clock: Clock | None = None) -> None:
    """Run the bot until SIGTERM or SIGINT."""
    clock = clock or SystemClock()
    store = await Store.connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        bot = Bot.build(settings, store, clock)
        await bot.serve(stop)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
        await store.close()
        logger.info("stopped", extra={"action": "stopped"})

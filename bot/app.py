"""The composition root: builds the store, the HTTP server and (as they exist) the scheduler,
delivery worker and chat front ends from `Settings`, runs them under one TaskGroup, and shuts
them down in order on SIGTERM/SIGINT."""

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from bot import server
from bot.clock import Clock, SystemClock
from bot.settings import Settings
from bot.store import Store

logger = logging.getLogger(__name__)


async def open_store(settings: Settings) -> Store:
    """Connect (starting the embedded server if no URL is configured), migrate, map the source."""
    store = await Store.open(
        settings.database_url.get_secret_value() if settings.database_url else None,
        settings.data_dir,
    )
    try:
        await store.migrate(settings.source)
    except BaseException:
        await store.close()
        raise
    return store


async def run(settings: Settings, *, clock: Clock | None = None) -> None:
    """Run the bot until SIGTERM or SIGINT."""
    clock = clock or SystemClock()
    store = await open_store(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = server.create_app(store, clock, max_body_bytes=settings.http.max_body_bytes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.http.host, settings.http.port)
        await site.start()
        logger.info(
            "perfbot running",
            extra={
                "action": "started",
                "http": f"{settings.http.host}:{settings.http.port}",
                "database": store.masked_url,
            },
        )
        await stop.wait()
        logger.info("shutting down", extra={"action": "stopping"})
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
        await runner.cleanup()
        await store.close()
        logger.info("stopped", extra={"action": "stopped"})

"""Listening sockets that slow or numerous clients cannot stall: a per-listener connection cap,
a deadline for the request head, the open-file limit raised at start, and throttled logging of
what would otherwise be a log line per connection (refusals, timeouts, failed accepts).

aiohttp has no header-read timeout of its own: a client that sends half a request head and
then nothing holds its connection until the keep-alive timer (an hour by default, and not
armed at all before aiohttp 3.10). `GuardedSite` wraps each aiohttp connection protocol in a
`_Guarded` one that counts the connection, closes it when the head of its first request is not
complete within `header_timeout`, and refuses connections past `max_connections` at once
(accept, then close) so that file descriptors never run out. Later requests on a keep-alive
connection are bounded by aiohttp's `keepalive_timeout`, which `serve` sets to the same value;
request bodies by the `body_timeout` middleware of `bot.server`."""

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

FD_RESERVE = 256  # descriptors kept for the database pool, outbound HTTP, SMTP, charts, logs
LOG_EVERY_S = 60.0  # a throttled event is logged at most once a minute, with the count
BACKLOG = 1024  # pending connections the kernel queues before perfbot accepts them
HEAD_ENDS = (b"\r\n\r\n", b"\n\n")


@dataclass
class Throttled:
    """One log line for the first event, then at most one per `every` seconds with the number
    of events since the last line (`count`), so a flood writes a handful of lines."""

    message: str
    action: str
    level: int = logging.WARNING
    every: float = LOG_EVERY_S
    clock: Callable[[], float] = time.monotonic
    total: int = 0
    _pending: int = 0
    _last: float | None = None

    def event(self, **facts: Any) -> bool:
        """Count one event; log it (with the pending count) when due. Whether it logged."""
        self.total += 1
        self._pending += 1
        now = self.clock()
        if self._last is not None and now - self._last < self.every:
            return False
        logger.log(
            self.level,
            self.message,
            extra={"action": self.action, "count": self._pending, "total": self.total, **facts},
        )
        self._pending = 0
        self._last = now
        return True

    def flush(self, **facts: Any) -> None:
        """Log the events counted since the last line, if any (at shutdown)."""
        if self._pending:
            logger.log(
                self.level,
                self.message,
                extra={"action": self.action, "count": self._pending, "total": self.total, **facts},
            )
            self._pending = 0


@dataclass
class Guard:
    """The limits and counters of one listener."""

    name: str
    max_connections: int
    header_timeout: float
    active: int = 0
    refused: Throttled = field(init=False)
    timed_out: Throttled = field(init=False)

    def __post_init__(self) -> None:
        self.refused = Throttled(
            "connection refused: too many open connections", "http_connection_refused"
        )
        self.timed_out = Throttled(
            "connection closed: request head not received in time", "http_header_timeout"
        )

    def flush(self) -> None:
        self.refused.flush(listener=self.name, limit=self.max_connections)
        self.timed_out.flush(listener=self.name, timeout_s=self.header_timeout)


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, created only once the connection is admitted,
    behind a deadline for its first request head."""

    def __init__(self, guard: Guard, make: Callable[[], asyncio.Protocol]) -> None:
        self._guard = guard
        self._make = make
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        guard = self._guard
        if guard.active >= guard.max_connections:
            guard.refused.event(listener=guard.name, limit=guard.max_connections)
            transport.abort()
            return
        guard.active += 1
        self._transport = transport
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(guard.header_timeout, self._expire)
        self._inner = self._make()
        self._inner.connection_made(transport)

    def _expire(self) -> None:
        self._deadline = None
        if self._transport is not None and not self._transport.is_closing():
            self._guard.timed_out.event(
                listener=self._guard.name, timeout_s=self._guard.header_timeout
            )
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._deadline is not None:
            seen = self._tail + data
            if any(end in seen for end in HEAD_ENDS):
                self._deadline.cancel()
                self._deadline = None
            self._tail = seen[-3:]
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._inner is None:
            return  # refused: never counted
        self._guard.active -= 1
        inner, self._inner, self._transport = self._inner, None, None
        inner.connection_lost(exc)


class GuardedSite(web.BaseSite):
    """A TCP site like aiohttp's `TCPSite` whose connections go through a `Guard`."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: Guard) -> None:
        super().__init__(runner, backlog=BACKLOG)
        self._host = host
        self._port = port
        self.guard = guard
        self._bound: int | None = None

    @property
    def port(self) -> int:
        """The bound port (the one the kernel chose when asked for port 0) once started."""
        return self._bound if self._bound is not None else self._port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        guard = self.guard
        listening = await asyncio.get_running_loop().create_server(
            lambda: _Guarded(guard, server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )
        self._server = listening
        if listening.sockets:
            self._bound = int(listening.sockets[0].getsockname()[1])


def raise_fd_limit() -> int:
    """Raise the soft open-file limit to the hard one (logged); the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            logger.warning(
                "could not raise the open-file limit",
                extra={"action": "fd_limit", "soft": soft, "hard": hard, "error": str(exc)},
            )
            return int(soft)
        logger.info(
            "raised the open-file limit",
            extra={"action": "fd_limit", "from": soft, "to": target, "hard": hard},
        )
        return int(target)
    return int(soft)


def connection_cap(wanted: int, listeners: int, fd_limit: int) -> int:
    """The per-listener connection cap: `wanted`, lowered (with a warning) so that every
    listener at its cap still leaves `FD_RESERVE` descriptors for everything else."""
    room = max(16, (fd_limit - FD_RESERVE) // max(1, listeners))
    if wanted <= room:
        return wanted
    logger.warning(
        "connection cap lowered to fit the open-file limit",
        extra={"action": "http_connection_cap", "wanted": wanted, "cap": room, "fds": fd_limit},
    )
    return room


class AcceptErrors:
    """An event-loop exception handler that turns asyncio's "socket.accept() out of system
    resource" (logged with a traceback on every failed accept) into a throttled one-liner and
    passes everything else to the previous handler."""

    MESSAGE = "socket.accept() out of system resource"

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._previous = loop.get_exception_handler()
        self.throttled = Throttled(
            "cannot accept connections: out of file descriptors or memory",
            "http_accept_failed",
            level=logging.ERROR,
        )

    def install(self) -> None:
        self._loop.set_exception_handler(self._handle)

    def uninstall(self) -> None:
        self._loop.set_exception_handler(self._previous)

    def _handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith(self.MESSAGE):
            self.throttled.event(error=str(context.get("exception", "")))
        elif self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)

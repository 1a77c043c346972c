"""The machinery every HTTP stand-in shares: an aiohttp server on 127.0.0.1 and a free port,
a record of every request, scripted faults (answer with a status N times, hang, or be down with
the port closed and later come back on the same port), and ways to run it: as an async context
manager in the test's loop, in a thread of its own (`serve_in_thread`, for synchronous code or
a test that blocks on a subprocess), or as a process (`main`, `python -m tests.fakes.slack`)."""

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Call:
    """One request as the stand-in saw it. `method` is the API method (`chat.postMessage`) or
    `VERB /path`; `args` the merged arguments; `body` the raw bytes."""

    method: str
    path: str
    verb: str
    args: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault:
    """A scripted misbehaviour for the next `times` matching requests."""

    kind: str  # "status" | "hang"
    times: int
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: str | bytes | dict[str, Any] | None = None
    seconds: float = 30.0
    path_prefix: str = ""


class FakeServer:
    """Base of the stand-ins. Subclasses add routes in `routes()` and may wrap answers in
    `fault_response` to match the platform's error format."""

    name = "fake"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.calls: list[Call] = []
        self.faulted: list[Call] = []  # requests answered by a scripted fault (not in `calls`)
        self.faults: list[Fault] = []
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()
        self._recorded = asyncio.Event()

    # -- life cycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, `http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self.port}"

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def start(self) -> Self:
        app = web.Application(
            middlewares=[self._fault_middleware], client_max_size=64 * 1024 * 1024
        )
        app.add_routes(self.routes())
        self._release = asyncio.Event()
        self._recorded = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()
        return self

    async def stop(self) -> None:
        self._release.set()  # ends hanging handlers at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def down(self) -> None:
        """Stop listening: connections are refused until `up()`."""
        await self.stop()

    async def up(self) -> None:
        """Listen again on the same port, keeping the recorded state."""
        if self._runner is None:
            await self.start()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- scripting --------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
        body: str | bytes | dict[str, Any] | None = None,
        path_prefix: str = "",
    ) -> None:
        """Answer the next `times` requests (under `path_prefix`) with `status`."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = f"{retry_after:g}"
        self.faults.append(Fault("status", times, status, extra, body, path_prefix=path_prefix))

    def hang(self, *, times: int = 1, seconds: float = 30.0, path_prefix: str = "") -> None:
        """Leave the next `times` requests unanswered for `seconds` (or until stopped)."""
        self.faults.append(Fault("hang", times, seconds=seconds, path_prefix=path_prefix))

    def clear_faults(self) -> None:
        self.faults.clear()

    def record(self, call: Call) -> None:
        self.calls.append(call)
        self._recorded.set()

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for_call(
        self, method: str, count: int = 1, *, within: float = 5.0
    ) -> list[Call]:
        """Wait until `count` calls to `method` were recorded (for work the bot does later,
        in the same event loop as this stand-in)."""
        async with asyncio.timeout(within):
            while len(self.calls_to(method)) < count:
                self._recorded.clear()
                await self._recorded.wait()
        return self.calls_to(method)

    # -- plumbing ---------------------------------------------------------------------------

    def fault_response(self, fault: Fault) -> web.Response:
        """The answer for a scripted status fault; subclasses give it the platform's shape."""
        return respond(
            fault.status,
            fault.body if fault.body is not None else {"error": "scripted"},
            fault.headers,
        )

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if path.startswith(fault.path_prefix):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = self._take_fault(request.path)
        if fault is None:
            return await handler(request)
        body = await request.read()
        self.faulted.append(
            Call(
                f"{request.method} {request.path}",
                request.path,
                request.method,
                dict(request.query),
                dict(request.headers),
                body,
            )
        )
        if fault.kind == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), fault.seconds)
            return respond(504, {"error": "hung"})
        return self.fault_response(fault)


def respond(
    status: int,
    body: str | bytes | dict[str, Any] | list[Any],
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A response with exactly the given body; dicts and lists as `application/json` (no
    charset parameter: mattermostdriver compares the content type verbatim)."""
    out_headers = dict(headers or {})
    if isinstance(body, dict | list):
        data = json.dumps(body).encode()
        out_headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        data = body.encode()
        out_headers.setdefault("Content-Type", "text/plain; charset=utf-8")
    else:
        data = body
    return web.Response(status=status, body=data, headers=out_headers)


@contextlib.contextmanager
def serve_in_thread(server: FakeServer) -> Iterator[FakeServer]:
    """Run `server` on its own event loop in a daemon thread for the `with` block. Its recorded
    `calls` may be read from the calling thread; scripting faults is safe between requests."""
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.stop())
        loop.close()

    thread = threading.Thread(target=run, name=f"{server.name}-stand-in", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError(f"{server.name} stand-in did not start")
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def main(factory: Callable[[int | None], FakeServer], argv: list[str] | None = None) -> None:
    """`python -m tests.fakes.<name> [--port N]`: serve until SIGINT/SIGTERM; print the URL."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)

    async def serve() -> None:
        server = factory(args.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            print(server.url, flush=True)
            await stop.wait()

    asyncio.run(serve())

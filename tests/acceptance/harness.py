"""`perfbot run` as a real subprocess for acceptance tests: started with an environment and a
YAML config, ready when /healthz answers, stopped with SIGTERM (or killed with SIGKILL); its
output is kept for assertions and failure messages. Ingest needs `AUTH` (the bot is given
`INGEST_TOKEN` unless the environment passed says otherwise)."""

import asyncio
import os
import resource
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.fakes.server import free_port

READY_WITHIN_S = 60.0
INGEST_TOKEN = "acceptance-ingest-token-5ecret-0123456789"
AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}


class PerfbotProcess:
    def __init__(
        self,
        db_url: str,
        tmp: Path,
        config: dict[str, Any],
        env: dict[str, str] | None = None,
        *,
        name: str = "perfbot",
        nofile: int | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        """`nofile`: start the bot with this soft open-file limit (its hard limit unchanged);
        `args`: more options for `perfbot run` (`--clock-file`)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = tmp / f"{name}.yml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = tmp / f"{name}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")},
            "PERFBOT_DATABASE_URL": db_url,
            "PERFBOT_HTTP__PORT": str(self.port),
            "PERFBOT_CONFIG": str(self.config_path),
            "PERFBOT_REPLICA": name,
            "PERFBOT_HTTP__INGEST_TOKENS": INGEST_TOKEN,
            **(env or {}),
        }
        self.nofile = nofile
        self.args = args
        self.process: asyncio.subprocess.Process | None = None
        self._log: Any = None

    async def start(self) -> "PerfbotProcess":
        self._log = self.log_path.open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            *self.args,
            env=self.env,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=self._limit_files if self.nofile is not None else None,
        )
        await self.wait_ready()
        return self

    def _limit_files(self) -> None:  # in the child, before exec
        assert self.nofile is not None
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, hard))

    async def wait_ready(self) -> None:
        async with aiohttp.ClientSession() as session:
            try:
                async with asyncio.timeout(READY_WITHIN_S):
                    while True:
                        if self.process is not None and self.process.returncode is not None:
                            raise AssertionError(f"perfbot exited early:\n{self.output()}")
                        try:
                            async with session.get(f"{self.url}/healthz") as resp:
                                if resp.status in (200, 503):
                                    return
                        except aiohttp.ClientError:
                            pass
                        await asyncio.sleep(0.1)
            except TimeoutError:
                raise AssertionError(
                    f"perfbot not ready in {READY_WITHIN_S} s:\n{self.output()}"
                ) from None

    async def stop(self, within: float = 30.0) -> int:
        """SIGTERM and wait (then SIGKILL after `within` seconds); the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(within):
                code = await self.process.wait()
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        self._close_log()
        return code

    async def kill(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def __aenter__(self) -> "PerfbotProcess":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            await self.stop()

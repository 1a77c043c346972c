"""A webhook receiver: records every request to any path (any method, so that a redirected
POST that became a GET is seen too) and answers 200 (or a scripted fault). `calls[i].body` is
the raw body; `readme_recipe()` is the README's verify recipe, run exactly as written there,
to check `X-Perfbot-Signature` the way a user's receiver does."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.server import Call, FakeServer, main

README = Path(__file__).resolve().parents[2] / "README.md"
RECIPE_SECTION = "### Outbound webhooks and secrets"


def readme_recipe() -> tuple[Callable[..., str | None], type[Exception]]:
    """`(perfbot_delivery, Rejected)` from the first Python block of the README's
    "Outbound webhooks and secrets" section, executed as written."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(RECIPE_SECTION) :]
    start = section.index("```python\n") + len("```python\n")
    code = section[start : section.index("```", start)]
    namespace: dict[str, Any] = {"__name__": "readme_webhook_recipe"}
    exec(compile(code, f"{README}#webhook-recipe", "exec"), namespace)
    return namespace["perfbot_delivery"], namespace["Rejected"]


class WebhookReceiver(FakeServer):
    """`delay` seconds pass between receiving a request and answering it (a slow receiver)."""

    name = "webhook"
    delay: float = 0.0

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{path:.*}", self._receive)]

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook"

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.record(
            Call(
                f"{request.method} {request.path}",
                request.path,
                request.method,
                dict(request.query),
                dict(request.headers),
                body,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=200, text="ok")


if __name__ == "__main__":
    main(lambda port: WebhookReceiver(port))

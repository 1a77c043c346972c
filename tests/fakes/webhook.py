"""A webhook receiver: records every POST to any path and answers 200 (or a scripted fault).
`received[i].body` is the raw body, to check `X-Perfbot-Signature` against."""

import asyncio

from aiohttp import web

from tests.fakes.server import Call, FakeServer, main


class WebhookReceiver(FakeServer):
    """`delay` seconds pass between receiving a request and answering it (a slow receiver)."""

    name = "webhook"
    delay: float = 0.0

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/{path:.*}", self._receive)]

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook"

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.record(
            Call(
                "POST " + request.path,
                request.path,
                "POST",
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

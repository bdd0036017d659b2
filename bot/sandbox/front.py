"""A load balancer in miniature, for tests and the bench: replicas behind one URL."""

from __future__ import annotations

import aiohttp
from aiohttp import web


class RoundRobinFront:
    """A load balancer in miniature: each request to ``/slack/events`` goes to the next
    replica in turn, headers and body unchanged; ``served`` counts the requests per port."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.served: dict[int, int] = dict.fromkeys(ports, 0)
        self._turn = 0
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> RoundRobinFront:
        """Listen on a loopback port of its own."""
        app = web.Application()
        app.router.add_post("/slack/events", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self._client = aiohttp.ClientSession()
        return self

    async def _forward(self, request: web.Request) -> web.Response:
        port = self.ports[self._turn % len(self.ports)]
        self._turn += 1
        self.served[port] += 1
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        assert self._client is not None
        async with self._client.post(
            f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers
        ) as answer:
            return web.Response(
                status=answer.status,
                body=await answer.read(),
                content_type=answer.content_type,
            )

    async def close(self) -> None:
        """Stop listening."""
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()


_HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding"}

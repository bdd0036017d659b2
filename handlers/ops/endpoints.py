"""``GET /healthz``, ``/readyz`` and ``/metrics``: on the Slack HTTP server, or on their own.

In HTTP mode they share the port of ``/slack/events`` (they are GETs: the signature guard
lets them through untouched). In Socket Mode the bot serves no Slack HTTP, so ``probe_app``
is a small server of these three alone.
"""

from __future__ import annotations

from aiohttp import web

from handlers.ops.metrics import CONTENT_TYPE, Metrics
from handlers.ops.readiness import Readiness

HEALTHZ, READYZ, METRICS = "/healthz", "/readyz", "/metrics"


class OpsEndpoints:
    """The three operator endpoints of one bot."""

    def __init__(self, readiness: Readiness, metrics: Metrics) -> None:
        self.readiness = readiness
        self.metrics = metrics

    async def healthz(self, request: web.Request) -> web.Response:
        """The process is alive and its loop answers: nothing else is asked."""
        return web.json_response({"status": "alive"})

    async def readyz(self, request: web.Request) -> web.Response:
        """200 when the database, Slack and Salesforce all work; 503 naming what fails."""
        report = await self.readiness.report()
        return web.json_response(report.body(), status=200 if report.ready else 503)

    async def metrics_text(self, request: web.Request) -> web.Response:
        """The Prometheus text format."""
        body = await self.metrics.render()
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    def add_to(self, app: web.Application) -> None:
        """Route the endpoints on ``app`` (before it starts)."""
        app.add_routes(
            [
                web.get(HEALTHZ, self.healthz),
                web.get(READYZ, self.readyz),
                web.get(METRICS, self.metrics_text),
            ]
        )

    def app(self) -> web.Application:
        """A web app serving only these endpoints (Socket Mode's probe port)."""
        app = web.Application()
        self.add_to(app)
        return app

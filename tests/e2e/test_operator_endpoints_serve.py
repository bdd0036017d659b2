"""`accessbot serve` as a process serves /healthz, /readyz and /metrics: on its HTTP port, and
in Socket Mode on --port (a small server of these alone)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.processes import World

pytestmark = pytest.mark.slow


@asynccontextmanager
async def serving(
    world: World, *args: str, until: str, **settings: str
) -> AsyncIterator[list[str]]:
    """``python -m bot serve ARGS`` until its stderr says ``until``; SIGTERM at the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--host",
        "127.0.0.1",
        *args,
        cwd=world.directory,
        env={**world.env("bot-1"), **settings},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    lines: list[str] = []
    said = asyncio.Event()

    async def read() -> None:  # all along: a full pipe would block the bot's logging
        assert process.stderr is not None
        async for raw in process.stderr:
            lines.append(raw.decode(errors="replace").rstrip("\n"))
            if until in lines[-1]:
                said.set()

    reader = asyncio.create_task(read())
    try:
        async with asyncio.timeout(30):
            await said.wait()
        yield lines
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
        await reader
    assert process.returncode == 0, lines


async def probe(base: str) -> dict[str, int]:
    """The status of each endpoint; the metrics must parse as Prometheus text."""
    statuses: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:
        for path in ("/healthz", "/readyz", "/metrics"):
            async with session.get(f"{base}{path}") as response:
                statuses[path] = response.status
                text = await response.text()
            if path == "/metrics":
                names = {family.name for family in text_string_to_metric_families(text)}
                assert {"accessbot_requests", "accessbot_decisions"} <= names
    return statuses


async def test_http_mode_serves_the_endpoints_beside_slack_events(world: World) -> None:
    async with serving(world, "--port", str(world.port), until="listening on"):
        statuses = await probe(f"http://127.0.0.1:{world.port}")
    assert statuses == {"/healthz": 200, "/readyz": 200, "/metrics": 200}


async def test_socket_mode_serves_the_endpoints_on_the_port_given(world: World) -> None:
    app_token = {"SLACK_APP_TOKEN": world.slack.app_token}
    async with serving(world, "--port", str(world.port), until="Socket Mode", **app_token):
        statuses = await probe(f"http://127.0.0.1:{world.port}")
        # Slack's events come over the link: this port has no /slack/events
        events = f"http://127.0.0.1:{world.port}/slack/events"
        async with aiohttp.ClientSession() as session, session.post(events) as response:
            assert response.status == 404
    assert statuses == {"/healthz": 200, "/readyz": 200, "/metrics": 200}


async def test_socket_mode_without_a_port_serves_no_http(world: World) -> None:
    app_token = {"SLACK_APP_TOKEN": world.slack.app_token}
    async with serving(world, until="Socket Mode", **app_token) as lines:
        pass
    assert not any("health and metrics" in line for line in lines)

"""`accessbot serve` as a process: quiet when idle at INFO; JSON lines when asked, no secrets."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections.abc import Callable

import pytest

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.stage import demo_policy
from storage.db import is_postgres
from tests.e2e.processes import World

pytestmark = pytest.mark.slow


def catalog_reads(org: SimulatedOrg) -> int:
    """How many times the bot read the catalog (one composite call per refresh)."""
    return sum(call.path.endswith("/composite") for call in org.calls)


def nobody_holds_access(org: SimulatedOrg) -> None:
    """Deactivate the seeded users of requestable profiles: reconciliation finds nothing."""
    requestable = set(demo_policy().applications[0].profiles)
    for user in org.users():
        if user.is_active and user.profile_name in requestable:
            org.admin_update("User", user.id, IsActive=False)


async def serve(world: World, settings: dict[str, str], done: Callable[[], bool]) -> list[str]:
    """Run ``python -m bot serve`` until ``done()``, stop it with SIGTERM; its stderr lines."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(world.port),
        cwd=world.directory,
        env={**world.env("bot-1"), **settings},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    lines: list[str] = []

    async def read() -> None:  # all along: a full pipe would block the bot's logging
        assert process.stderr is not None
        async for raw in process.stderr:
            lines.append(raw.decode().rstrip("\n"))

    reader = asyncio.create_task(read())
    try:
        async with asyncio.timeout(30):
            while not done():
                await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
        await reader
    assert process.returncode == 0, lines
    return lines


async def test_an_idle_serve_process_writes_only_that_it_started(world: World) -> None:
    nobody_holds_access(world.org)
    # A catalog refresh every tick: an idle bot that still talks to Salesforce on each one.
    settings = {
        "ACCESSBOT_LOG_LEVEL": "INFO",
        "ACCESSBOT_CATALOG_MAX_AGE": "0.1",
        "ACCESSBOT_TICK_SECONDS": "0.1",
    }
    lines = await serve(world, settings, lambda: catalog_reads(world.org) >= 4)
    # Its start (a new database, its audit key, where it listens) and the daily publication
    # of the audit log's head: once each, in whatever order the first tick and start-up take.
    # A SQLite database is named by its file; a PostgreSQL URL (it may hold a password) is not.
    named = "(postgresql)" if is_postgres(world.database) else world.database
    expected = [
        rf"INFO storage\.db: database {re.escape(named)} migrated from version 0 "
        r"to \d+ \(\d+ migrations\)",
        r"INFO storage\.db: the audit log is signed with key \S+ from now on",
        re.escape(
            f"INFO bot.cli: accessbot: listening on http://127.0.0.1:{world.port}/slack/events"
        ),
        r"INFO handlers\.jobs: audit log head \d+:[0-9a-f]{64}",
    ]
    said = sorted(line.split(" ", 2)[2] for line in lines)
    matched = sorted(
        next((line for line in said if re.fullmatch(pattern, line)), pattern)
        for pattern in expected
    )
    assert said == matched, lines


async def test_serve_writes_json_lines_with_secrets_masked(world: World) -> None:
    settings = {
        "ACCESSBOT_LOG_FORMAT": "json",
        "ACCESSBOT_LOG_LEVEL": "DEBUG",  # every library's lines too: each must be JSON
        "ACCESSBOT_CATALOG_MAX_AGE": "0.1",
        "ACCESSBOT_TICK_SECONDS": "0.1",
    }
    lines = await serve(world, settings, lambda: catalog_reads(world.org) >= 3)
    entries = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    messages = [e["message"] for e in entries]
    assert f"accessbot: listening on http://127.0.0.1:{world.port}/slack/events" in messages
    assert any("executed successfully" in m for m in messages)  # APScheduler, at DEBUG
    for secret in (world.slack.bot_token, world.org_server.access_token):
        assert secret not in "\n".join(lines)

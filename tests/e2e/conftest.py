from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.postgres_server import PostgresServer
from bot.sandbox.stage import Stage
from tests.e2e.processes import World, simulated_world
from tests.e2e.stages import StageOpener

# Every end-to-end test that uses a database (taking ``e2e_database`` through ``stage``,
# ``world`` or ``open_stage``) runs on SQLite and on PostgreSQL by default (=all).
# ACCESSBOT_TEST_POSTGRES=subset runs only these files on both, for a shorter local run: the
# grant, the revocation, escalation, crash recovery, the outbox, the converger's access
# integrity, two processes sharing the due work, Slack's retries, and transfers, access reviews,
# approval rules and break-glass; =none runs them on SQLite only.
POSTGRES_FILES = frozenset(
    {
        "test_grant_flow.py",
        "test_revocation.py",
        "test_escalation.py",
        "test_crash_recovery.py",
        "test_outbox.py",
        "test_access_integrity.py",
        "test_lifecycle_two_processes.py",
        "test_idempotency.py",
        "test_replicas.py",
        "test_transfer.py",
        "test_reviews.py",
        "test_approval_rules.py",
        "test_break_glass.py",
    }
)


DEFAULT_CHOICE = "all"


def _backends(path: Path) -> list[str]:
    choice = os.environ.get("ACCESSBOT_TEST_POSTGRES", DEFAULT_CHOICE).strip().lower()
    if choice == "all" or (choice == "subset" and path.name in POSTGRES_FILES):
        return ["sqlite", "postgresql"]
    return ["sqlite"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests of the chosen files get one run per backend (ids end in [sqlite]/[postgresql])."""
    if "e2e_database" not in metafunc.fixturenames:
        return
    backends = _backends(Path(str(metafunc.definition.fspath)))
    if len(backends) > 1:
        metafunc.parametrize("e2e_database", backends, indirect=True)


@pytest.fixture
def e2e_database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The database settings of the bot under test: a SQLite file in ``tmp_path`` (the
    stage's default), or a fresh PostgreSQL schema with the audit key file in ``tmp_path``."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return {}
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return {
        "ACCESSBOT_DATABASE": server.new_database_url(),
        "ACCESSBOT_AUDIT_KEY_FILE": tmp_path / "audit.key",
    }


@pytest.fixture
def open_stage(tmp_path: Path, e2e_database: dict[str, Any]) -> StageOpener:
    """Starts stages of the test's own (policy, org, clock, settings…) in ``tmp_path`` on the
    backend under test; the test closes them."""
    return StageOpener(tmp_path, e2e_database)


@pytest.fixture
async def stage(open_stage: StageOpener) -> AsyncIterator[Stage]:
    """The bot serving signed HTTP on loopback, wired to the simulated Slack and Salesforce."""
    running = await open_stage()
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def world(tmp_path: Path, e2e_database: dict[str, Any]) -> AsyncIterator[World]:
    """Simulators served for bot processes (``python -m bot serve``) on one database."""
    async with simulated_world(tmp_path, e2e_database) as running:
        yield running


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is end to end: ``-m "not e2e"`` leaves the tier out."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.stage import Stage, start_stage


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    """The bot serving signed HTTP on loopback, wired to the simulated Slack and Salesforce."""
    running = await start_stage(tmp_path)
    try:
        yield running
    finally:
        await running.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is end to end: ``-m "not e2e"`` leaves the tier out."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)

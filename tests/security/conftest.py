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

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.requests import RequestRepository


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database(tmp_path / "accessbot.sqlite3") as database:
        yield database


@pytest.fixture
def repo(db: Database) -> RequestRepository:
    return RequestRepository(db)

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.db import Database
from storage.requests import RequestRepository


@pytest.fixture
async def db(database_target: str) -> AsyncIterator[Database]:
    """A fresh database on each backend (SQLite and PostgreSQL)."""
    async with Database(database_target) as database:
        yield database


@pytest.fixture
def repo(db: Database) -> RequestRepository:
    return RequestRepository(db)

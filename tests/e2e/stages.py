"""Stages on the database under test: what the ``open_stage`` fixture hands a test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.sandbox.stage import Stage, start_stage


@dataclass(frozen=True)
class StageOpener:
    """``start_stage`` in one folder on one database: the test's SQLite file, or its own
    PostgreSQL schema (``e2e_database``). The caller closes each stage it opens."""

    directory: Path
    database: dict[str, Any]

    async def __call__(self, *, settings: dict[str, Any] | None = None, **options: Any) -> Stage:
        """A stage as ``start_stage(directory, **options)`` starts it, on this database;
        ``settings`` add to (or override) the database's."""
        merged = {**self.database, **(settings or {})}
        return await start_stage(self.directory, settings=merged or None, **options)

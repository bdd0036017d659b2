"""``accessbot db copy``: move a SQLite database to PostgreSQL (or another file)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.settings import database_target
from storage.copy import copy_database
from storage.db import is_postgres


async def copy_command(source: str, target: str) -> int:
    """Copy every row of ``source`` into ``target`` and print what went over.

    ValueError says why the copy was not made (nothing is written then).
    """
    if is_postgres(source):
        raise ValueError("--from names the SQLite file to copy (a path)")
    path = Path(str(database_target(source)))
    if not await asyncio.to_thread(path.is_file):
        raise ValueError(f"no SQLite database at {path}")
    report = await copy_database(path, str(database_target(target)))
    for table, count in sorted(report.rows.items()):
        print(f"{table}: {count} rows")
    print(f"audit log head {report.head}, the same on both: `accessbot audit verify` checks it")
    return 0

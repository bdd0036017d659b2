"""The SQLite backend: one aiosqlite connection in WAL mode, writes behind BEGIN IMMEDIATE."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.backend.connection import Connection, Cursor, DbActivity, IntegrityError, Params
from storage.db_files import create_private

_BEGIN_ATTEMPTS = 40
_ROW_STATEMENTS = ("SELECT", "WITH", "PRAGMA", "EXPLAIN", "VALUES")


def _returns_rows(sql: str) -> bool:
    head = sql.lstrip().upper()
    return head.startswith(_ROW_STATEMENTS) or " RETURNING " in f" {' '.join(head.split())} "


class SqliteExecutor:
    """Runs statements on the connection in one round trip to aiosqlite's thread each."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def run(self, sql: str, params: Params) -> Cursor:
        """Run ``sql``; rows of a query or RETURNING come back whole."""
        args = () if params is None else params
        try:
            return await self._run(sql, args)
        except sqlite3.IntegrityError as error:
            raise IntegrityError(str(error)) from error

    async def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run ``sql`` once per row of values."""
        try:
            await self.conn.executemany(sql, rows)
        except sqlite3.IntegrityError as error:
            raise IntegrityError(str(error)) from error

    async def _run(self, sql: str, args: Any) -> Cursor:
        if _returns_rows(sql):
            rows = list(await self.conn.execute_fetchall(sql, args))
            return Cursor(rows, len(rows))
        # One round trip: a finished statement's cursor holds nothing worth a second one to close.
        cursor = await self.conn.execute(sql, args)
        return Cursor([], cursor.rowcount)


class SqliteBackend:
    """One file, one connection; ``BEGIN IMMEDIATE`` serialises writers across processes."""

    name = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor: SqliteExecutor | None = None
        self._write_lock = asyncio.Lock()
        self.activity = DbActivity()

    async def open(self) -> None:
        """Connect and switch to WAL."""
        if self.path != ":memory:":
            create_private(Path(self.path))
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA busy_timeout=10000")
        await self._retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        self._executor = SqliteExecutor(conn)

    async def close(self) -> None:
        """Close the connection."""
        if self._executor is not None:
            await self._executor.conn.close()
            self._executor = None

    @property
    def executor(self) -> SqliteExecutor:
        """The open connection's executor."""
        if self._executor is None:
            raise RuntimeError("Database.open() was not called")
        return self._executor

    def reader(self) -> Connection:
        """Reads share the one connection."""
        return Connection(self.executor, self.activity)

    @asynccontextmanager
    async def transaction(self, *, migrating: bool = False) -> AsyncIterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        async with self._write_lock:
            executor = self.executor
            await self._begin(executor.conn)
            try:
                yield Connection(executor, self.activity, writing=True)
            except BaseException:
                await executor.conn.execute("ROLLBACK")
                raise
            else:
                await executor.conn.execute("COMMIT")

    async def _begin(self, conn: aiosqlite.Connection) -> None:
        """``BEGIN IMMEDIATE``, waiting for this connection's own reads in progress.

        A read another task left open on this connection pins an old snapshot; once another
        process has written, SQLite refuses the write lock at once (the busy timeout does not
        apply). The read ends within moments, so try again until it has.
        """
        await self._retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))

    @staticmethod
    async def _retry_locked(statement: Callable[[], Awaitable[object]]) -> None:
        """Run ``statement`` again while SQLite answers "locked" without waiting itself.

        Besides the case above, switching a new file to WAL while another process does the
        same (replicas starting together) is refused at once too.
        """
        for attempt in range(_BEGIN_ATTEMPTS):
            try:
                await statement()
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or attempt == _BEGIN_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))

    async def schema_version(self, conn: Connection) -> int:
        """The version recorded in the file's header."""
        rows = await conn.execute_fetchall("PRAGMA user_version")
        return int(rows[0][0]) if rows else 0

    async def set_schema_version(self, conn: Connection, version: int) -> None:
        """Record the version reached."""
        await conn.execute(f"PRAGMA user_version = {int(version)}")

    async def tables(self, conn: Connection) -> list[str]:
        """Every table but SQLite's own."""
        found = await conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
        return [str(row[0]) for row in found]

    async def renumber(self, conn: Connection) -> None:
        """AUTOINCREMENT already counts on from the highest id inserted."""

    def migration_statements(self, statement: str) -> list[str]:
        """Migrations are written in SQLite's dialect: run as they are."""
        return [statement]

    def skip_locked(self, picker: str, table: str, key: str) -> str:
        """SQLite has one writer at a time: the picker needs no row locks."""
        return picker

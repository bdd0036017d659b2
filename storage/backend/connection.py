"""What repositories see of the database, whichever backend runs: statements and their rows.

Statements are written once, in SQLite's dialect with ``?`` or ``:name`` placeholders; the
PostgreSQL backend translates the few differences (see ``storage.backend.pg_sql``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Params = Sequence[Any] | Mapping[str, Any] | None


@dataclass
class DbActivity:
    """What one process asked of the database since it opened it (metrics, the benchmark).

    Every statement is one round trip to the database; a write transaction holds the write
    lock from its BEGIN to its COMMIT, so its statements and its time there are what other
    writers wait for.
    """

    statements: int = 0  # every statement, read or written
    write_transactions: int = 0
    write_statements: int = 0  # statements run inside write transactions
    lock_wait_seconds: float = 0.0  # from asking for a write transaction to being in it
    lock_held_seconds: float = 0.0  # from being in a write transaction to its end


class IntegrityError(Exception):
    """The database refused a statement: a constraint, or an append-only table's trigger."""


class Row(Protocol):
    """A result row: by position or by column name; ``row_dict(row)`` gives every column."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[Any]: ...


def row_dict(row: Row) -> dict[str, Any]:
    """Every column of ``row`` by name.

    Faster than ``dict(row)``, which looks each name up among all the columns of an
    ``sqlite3.Row`` (the cost of reading a wide table's rows).
    """
    return dict(zip(row.keys(), row, strict=True))


class Cursor:
    """The rows of one statement (fetched whole) and how many rows it changed."""

    def __init__(self, rows: Sequence[Row], rowcount: int) -> None:
        self._rows = list(rows)
        self._next = 0
        self.rowcount = rowcount

    async def fetchone(self) -> Row | None:
        """The next row, or None when there is none left."""
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[Row]:
        """Every row not fetched yet."""
        rest = self._rows[self._next :]
        self._next = len(self._rows)
        return rest

    def __aiter__(self) -> AsyncIterator[Row]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Row]:
        while (row := await self.fetchone()) is not None:
            yield row

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)


class Executor(Protocol):
    """A backend's way of running one statement."""

    async def run(self, sql: str, params: Params) -> Cursor: ...

    async def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


class _Pending:
    """``conn.execute(...)``: awaited, or used as ``async with ... as cur``."""

    def __init__(self, executor: Executor, sql: str, params: Params) -> None:
        self._executor = executor
        self._sql = sql
        self._params = params

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._executor.run(self._sql, self._params).__await__()

    async def __aenter__(self) -> Cursor:
        return await self._executor.run(self._sql, self._params)

    async def __aexit__(self, *exc: object) -> None:
        return None


class Connection:
    """Runs statements on the backend: inside a transaction, or each on its own (reads)."""

    def __init__(
        self, executor: Executor, activity: DbActivity | None = None, *, writing: bool = False
    ) -> None:
        self._executor = executor
        self._activity = activity
        self._writing = writing
        # The audit log's last hash as this transaction leaves it, when known (see
        # ``storage.audit.append_audit``): carried from one committed transaction to the next.
        self.audit_head: str | None = None

    def _count(self) -> None:
        if self._activity is not None:
            self._activity.statements += 1
            if self._writing:
                self._activity.write_statements += 1

    def execute(self, sql: str, params: Params = None) -> _Pending:
        """Run one statement; await the cursor or use it in ``async with``."""
        self._count()
        return _Pending(self._executor, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of values (bulk inserts)."""
        self._count()
        await self._executor.run_many(sql, rows)

    async def execute_fetchall(self, sql: str, params: Params = None) -> list[Row]:
        """Run one statement and return all its rows."""
        self._count()
        cursor = await self._executor.run(sql, params)
        return await cursor.fetchall()

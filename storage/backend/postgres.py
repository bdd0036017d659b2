"""The PostgreSQL backend: a psycopg connection pool; writes serialised by an advisory lock.

Every write transaction first takes one transaction-scoped advisory lock, as SQLite's
``BEGIN IMMEDIATE`` takes the file's write lock: the compare-and-set transitions, the audit
chain's head (each row hashes the one before) and the multi-statement checks keep exactly the
guarantees they have on SQLite, across any number of replicas. Reads take no lock. Migrations run
under their own advisory lock, so replicas starting together migrate once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.abc import Dumper
from psycopg.adapt import Dumper as BaseDumper
from psycopg.pq import Format
from psycopg.rows import RowMaker
from psycopg_pool import AsyncConnectionPool

from storage.backend import pg_sql
from storage.backend.connection import Connection, Cursor, DbActivity, IntegrityError, Params

# Advisory lock keys (any 64-bit numbers of our own): the writer's and the migrator's.
WRITE_LOCK = 0x61636365737362
MIGRATE_LOCK = 0x61636365737363
_VERSION_TABLE = "accessbot_schema"


class DatabaseUnreachable(ValueError):
    """The PostgreSQL server named by ACCESSBOT_DATABASE did not take the connection."""


class PgRow(tuple[Any, ...]):
    """A row readable by position or by column name, as ``sqlite3.Row`` is."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> PgRow:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        """Column names, in order."""
        return list(self._names)


def _row_factory(cursor: psycopg.AsyncCursor[Any]) -> RowMaker[PgRow]:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: PgRow(values, names)


class _BoolAsInteger(BaseDumper):
    """SQLite stores booleans as 0 and 1; so do the same columns here."""

    oid = psycopg.adapters.types["int8"].oid
    format = Format.TEXT

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    dumper: type[Dumper] = _BoolAsInteger
    conn.adapters.register_dumper(bool, dumper)


class PgExecutor:
    """Runs statements on one connection, or each on a pooled connection of its own."""

    def __init__(
        self, pool: AsyncConnectionPool, conn: psycopg.AsyncConnection[Any] | None = None
    ) -> None:
        self._pool = pool
        self._conn = conn

    async def run(self, sql: str, params: Params) -> Cursor:
        """Translate ``sql`` and run it; rows come back whole."""
        query = pg_sql.statement(sql)
        args: Any = () if params is None else params
        if self._conn is not None:
            return await _run(self._conn, query, args)
        async with self._pool.connection() as conn:
            return await _run(conn, query, args)

    async def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run ``sql`` once per row of values (pipelined by psycopg)."""
        query = pg_sql.statement(sql)
        if self._conn is not None:
            await _run_many(self._conn, query, rows)
            return
        async with self._pool.connection() as conn, conn.transaction():
            await _run_many(conn, query, rows)


async def _run_many(
    conn: psycopg.AsyncConnection[Any], query: str, rows: Iterable[Sequence[Any]]
) -> None:
    async with conn.cursor() as cur:
        try:
            await cur.executemany(query, rows)
        except psycopg.IntegrityError as error:
            raise IntegrityError(str(error).splitlines()[0]) from error


async def _run(conn: psycopg.AsyncConnection[Any], query: str, args: Any) -> Cursor:
    async with conn.cursor(row_factory=_row_factory) as cur:
        try:
            await cur.execute(query, args)
        except psycopg.IntegrityError as error:
            raise IntegrityError(str(error).splitlines()[0]) from error
        rows = await cur.fetchall() if cur.description is not None else []
        return Cursor(rows, cur.rowcount)


class PostgresBackend:
    """A pool of connections to one PostgreSQL database, named by a libpq URL."""

    name = "postgresql"

    def __init__(self, url: str, *, max_size: int = 10) -> None:
        self.path = url
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True},
            configure=_configure,
        )
        # One waiting writer per process: the others wait here, not holding a connection.
        self._write_lock = asyncio.Lock()
        self._opened = False
        self.activity = DbActivity()

    async def open(self) -> None:
        """Make sure the server answers (at once, with its reason if not), then open the pool."""
        try:
            first = await psycopg.AsyncConnection.connect(self.path, connect_timeout=10)
        except psycopg.OperationalError as error:
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else "no answer"
            raise DatabaseUnreachable(f"cannot connect to PostgreSQL: {reason}") from None
        await first.close()
        await self._pool.open(wait=True, timeout=30)
        self._opened = True

    async def close(self) -> None:
        """Close every connection."""
        if self._opened:
            await self._pool.close()
            self._opened = False

    def reader(self) -> Connection:
        """Reads run each on a pooled connection, in autocommit."""
        if not self._opened:
            raise RuntimeError("Database.open() was not called")
        return Connection(PgExecutor(self._pool), self.activity)

    @asynccontextmanager
    async def transaction(self, *, migrating: bool = False) -> AsyncIterator[Connection]:
        """A write transaction holding the writers' (or the migrators') advisory lock."""
        async with self._write_lock, self._pool.connection() as conn, conn.transaction():
            lock = MIGRATE_LOCK if migrating else WRITE_LOCK
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            yield Connection(PgExecutor(self._pool, conn), self.activity, writing=True)

    async def schema_version(self, conn: Connection) -> int:
        """The version recorded in the schema table (0 before the first migration)."""
        rows = await conn.execute_fetchall("SELECT to_regclass(?) IS NOT NULL", (_VERSION_TABLE,))
        if not rows or not rows[0][0]:
            return 0
        found = await conn.execute_fetchall(f"SELECT version FROM {_VERSION_TABLE}")  # noqa: S608
        return int(found[0][0]) if found else 0

    async def set_schema_version(self, conn: Connection, version: int) -> None:
        """Record the version reached."""
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {_VERSION_TABLE} "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)"
        )
        await conn.execute(
            f"INSERT INTO {_VERSION_TABLE} (id, version) VALUES (1, ?) "  # noqa: S608
            "ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            (int(version),),
        )

    async def tables(self, conn: Connection) -> list[str]:
        """The tables of the schema in use, but the schema version's."""
        found = await conn.execute_fetchall(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
            "AND table_name <> ? ORDER BY table_name",
            (_VERSION_TABLE,),
        )
        return [str(row[0]) for row in found]

    async def renumber(self, conn: Connection) -> None:
        """Move each identity column's sequence past the highest id now stored."""
        found = await conn.execute_fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'"
        )
        for table, column in ((str(r[0]), str(r[1])) for r in found):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence(?, ?), "  # noqa: S608
                f'COALESCE((SELECT MAX("{column}") FROM "{table}"), 0) + 1, false)',
                (table, column),
            )

    def migration_statements(self, statement: str) -> list[str]:
        """A migration statement written for SQLite, as PostgreSQL runs it."""
        return pg_sql.migration(statement)

    def skip_locked(self, picker: str, table: str, key: str) -> str:
        """The picker's rows that no other transaction holds, locked until commit."""
        return (
            f"SELECT {key} FROM {table} WHERE {key} IN ({picker}) "  # noqa: S608
            "FOR UPDATE SKIP LOCKED"
        )

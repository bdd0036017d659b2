"""The database: SQLite (a file) or PostgreSQL (a URL), migrations at start-up, write transactions.

Which backend runs is known here and in ``storage.backend`` only; repositories write their SQL
once (SQLite's dialect, ``?`` placeholders) and get rows the same way from both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from storage.audit_key import AuditKeyMismatch, fingerprint
from storage.backend.connection import Connection, DbActivity, IntegrityError, Row, row_dict
from storage.backend.postgres import DatabaseUnreachable, PostgresBackend
from storage.backend.sqlite import SqliteBackend

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
POSTGRES_SCHEMES = ("postgresql://", "postgres://")

__all__ = [
    "Clock",
    "Connection",
    "Database",
    "DatabaseUnreachable",
    "DbActivity",
    "IntegrityError",
    "Row",
    "from_db_time",
    "row_dict",
    "to_db_time",
    "utc_now",
]


def utc_now() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


def to_db_time(value: datetime | None) -> str | None:
    """Store times as sortable ISO 8601 UTC text (on both backends)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str | None) -> datetime | None:
    """Read a time stored by ``to_db_time``."""
    return None if value is None else datetime.fromisoformat(value)


def is_postgres(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL database (a URL) rather than a SQLite file."""
    return str(target).lower().startswith(POSTGRES_SCHEMES)


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_migration() -> int:
    """The schema version this code migrates to."""
    return max((version for version, _ in _migrations()), default=0)


class Database:
    """A SQLite file or a PostgreSQL URL; writes go through ``transaction()`` one at a time.

    On SQLite ``BEGIN IMMEDIATE`` takes the file's write lock up front; on PostgreSQL an
    advisory lock does the same: processes sharing the database serialise their
    compare-and-set updates and audit rows instead of failing half-way.
    """

    def __init__(
        self, target: str | Path, *, clock: Clock = utc_now, audit_key: bytes | None = None
    ) -> None:
        self.path = str(target)
        self.clock = clock
        self.audit_key = audit_key
        self._backend: SqliteBackend | PostgresBackend = (
            PostgresBackend(self.path) if is_postgres(self.path) else SqliteBackend(self.path)
        )
        # The audit log's last hash after this process's last commit: a guess each append
        # checks in its own INSERT (another process may have written since).
        self._audit_head: str | None = None

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._backend.name

    async def open(self) -> Database:
        """Connect and apply pending migrations."""
        await self._backend.open()
        try:
            await self._migrate()
            if self.audit_key is not None:
                await self._register_audit_key(self.audit_key)
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        """Close the connection(s)."""
        await self._backend.close()

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        """The schema version the database holds (a read: it proves the database answers)."""
        return await self._backend.schema_version(self.conn)

    @property
    def conn(self) -> Connection:
        """Runs reads (each statement on its own)."""
        return self._backend.reader()

    @property
    def activity(self) -> DbActivity:
        """Statements and write transactions so far, and the time spent waiting for and in
        the write lock (this process's)."""
        return self._backend.activity

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        activity = self._backend.activity
        asked = time.perf_counter()
        began: float | None = None
        try:
            async with self._backend.transaction() as conn:
                began = time.perf_counter()
                activity.write_transactions += 1
                activity.lock_wait_seconds += began - asked
                conn.audit_head = self._audit_head
                yield conn
            self._audit_head = conn.audit_head  # committed
        except BaseException:
            self._audit_head = None  # rolled back: the rows it appended are gone
            raise
        finally:
            if began is not None:  # the commit (or rollback) counts as held
                activity.lock_held_seconds += time.perf_counter() - began

    async def tables(self) -> list[str]:
        """The database's own tables (the schema version's bookkeeping left out), by name."""
        return await self._backend.tables(self.conn)

    async def renumber(self, conn: Connection) -> None:
        """After rows were written with their ids given: new rows number on from the highest."""
        await self._backend.renumber(conn)

    def skip_locked(self, picker: str, table: str, key: str = "id") -> str:
        """``picker`` (a query of ``key``s of ``table``) less the rows another transaction
        holds, locked by this one (PostgreSQL's ``FOR UPDATE SKIP LOCKED``; as is on SQLite)."""
        return self._backend.skip_locked(picker, table, key)

    async def _migrate(self) -> None:
        applied: list[int] = []
        async with self._backend.transaction(migrating=True) as conn:
            current = await self._backend.schema_version(conn)
            for version, script in _migrations():
                if version <= current:
                    continue
                log.debug("applying migration %04d", version)
                for statement in _split_sql(script):
                    for translated in self._backend.migration_statements(statement):
                        await conn.execute(translated)
                await self._backend.set_schema_version(conn, version)
                applied.append(version)
        if applied:
            log.info(
                "database %s migrated from version %d to %d (%d migrations)",
                self.path if self.backend == "sqlite" else "(postgresql)",
                current,
                applied[-1],
                len(applied),
            )

    async def _register_audit_key(self, key: bytes) -> None:
        """Record which key signs the log from which row on; refuse a different key."""
        mine = fingerprint(key)
        async with self.transaction() as conn:
            async with conn.execute("SELECT fingerprint, from_seq FROM audit_keys") as cur:
                known = await cur.fetchone()
            if known is not None:
                if known["fingerprint"] != mine:
                    raise AuditKeyMismatch(
                        f"the audit key (fingerprint {mine}) is not the one this database's "
                        f"audit log is signed with (fingerprint {known['fingerprint']}, from row "
                        f"{known['from_seq']}): restore that key (ACCESSBOT_AUDIT_KEY or the "
                        "key file)"
                    )
                return
            await conn.execute(
                "INSERT INTO audit_keys (fingerprint, from_seq, created_at) "
                "SELECT ?, COALESCE(MAX(seq), 0) + 1, ? FROM audit_log",
                (mine, to_db_time(self.clock())),
            )
            log.info("the audit log is signed with key %s from now on", mine)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer: list[str] = []
    in_trigger = False
    for line in script.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        buffer.append(line)
        upper = stripped.upper()
        if upper.startswith("CREATE TRIGGER"):
            in_trigger = True
        if (in_trigger and upper == "END;") or (not in_trigger and stripped.endswith(";")):
            statements.append("\n".join(buffer))
            buffer = []
            in_trigger = False
    if buffer:
        statements.append("\n".join(buffer))
    return statements

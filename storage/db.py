"""The SQLite connection: WAL, migrations at start-up, and serialised write transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.audit_key import AuditKeyMismatch, fingerprint
from storage.db_files import create_private

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_BEGIN_ATTEMPTS = 40


def utc_now() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


def to_db_time(value: datetime | None) -> str | None:
    """Store times as sortable ISO 8601 UTC text."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str | None) -> datetime | None:
    """Read a time stored by ``to_db_time``."""
    return None if value is None else datetime.fromisoformat(value)


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
    """One aiosqlite connection; writes go through ``transaction()`` one at a time.

    ``BEGIN IMMEDIATE`` takes SQLite's write lock up front, so two processes sharing the file
    serialise their compare-and-set updates instead of failing half-way.
    """

    def __init__(
        self, path: str | Path, *, clock: Clock = utc_now, audit_key: bytes | None = None
    ) -> None:
        self.path = str(path)
        self.clock = clock
        self.audit_key = audit_key
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> Database:
        """Connect, switch to WAL and apply pending migrations."""
        if self.path != ":memory:":
            create_private(Path(self.path))
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=10000")
        self._conn = conn
        try:
            await self._migrate()
            if self.audit_key is not None:
                await self._register_audit_key(self.audit_key)
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        """The schema version the file holds (a read: it proves the file answers)."""
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @property
    def conn(self) -> aiosqlite.Connection:
        """The open connection (reads may use it directly)."""
        if self._conn is None:
            raise RuntimeError("Database.open() was not called")
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        async with self._write_lock:
            conn = self.conn
            await self._begin(conn)
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    async def _begin(self, conn: aiosqlite.Connection) -> None:
        """``BEGIN IMMEDIATE``, waiting for this connection's own reads in progress.

        A read another task left open on this connection pins an old snapshot; once another
        process has written, SQLite refuses the write lock at once (the busy timeout does not
        apply). The read ends within moments, so try again until it has.
        """
        for attempt in range(_BEGIN_ATTEMPTS):
            try:
                await conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or attempt == _BEGIN_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))

    async def _migrate(self) -> None:
        applied: list[int] = []
        async with self.transaction() as conn:
            async with conn.execute("PRAGMA user_version") as cur:
                row = await cur.fetchone()
            current = int(row[0]) if row else 0
            for version, script in _migrations():
                if version <= current:
                    continue
                log.debug("applying migration %04d", version)
                for statement in _split_sql(script):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {int(version)}")
                applied.append(version)
        if applied:
            log.info(
                "database %s migrated from version %d to %d (%d migrations)",
                self.path,
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

"""Reading the bot's database from outside, as an operator would (read-only, WAL-safe on
SQLite; on PostgreSQL, autocommit reads of what is committed)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from storage.backend import pg_sql
from storage.db import is_postgres


class ReadOnlyDb:
    """A read-only connection to a running bot's database."""

    def __init__(self, path: Path | str) -> None:
        self._postgres = is_postgres(path)
        self._conn: Any = (
            psycopg.connect(str(path), autocommit=True)
            if self._postgres
            else sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        )

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        if self._postgres:
            return list(self._conn.execute(pg_sql.statement(sql), args).fetchall())
        return list(self._conn.execute(sql, args).fetchall())

    def count(self, *, state: str) -> int:
        """How many requests are in ``state``."""
        return int(str(self._rows("SELECT count(*) FROM requests WHERE state = ?", (state,))[0][0]))

    def approval_asks(self) -> int:
        """How many approval messages have been posted."""
        rows = self._rows("SELECT count(*) FROM messages WHERE purpose = 'approval'")
        return int(str(rows[0][0]))

    def request_ids(self, *, state: str) -> list[str]:
        """The ids of the requests in ``state``."""
        return [str(r[0]) for r in self._rows("SELECT id FROM requests WHERE state = ?", (state,))]

    def states(self, ids: Collection[str]) -> dict[str, str]:
        """The state of each of these requests."""
        rows = self._rows("SELECT id, state FROM requests")
        return {str(i): str(s) for i, s in rows if i in ids}

    def audit_counts(self, action: str, ids: Collection[str]) -> dict[str, int]:
        """How many audit rows with ``action`` each of these requests has."""
        rows = self._rows(
            "SELECT request_id, count(*) FROM audit_log WHERE action = ? GROUP BY request_id",
            (action,),
        )
        counts = {i: 0 for i in ids}
        counts.update({str(i): int(str(n)) for i, n in rows if i in counts})
        return counts

    def active_since(self, started: Mapping[str, float]) -> dict[str, float]:
        """When each of these requests became active (epoch seconds)."""
        rows = self._rows("SELECT id, updated_at FROM requests WHERE state = 'active'")
        return {
            str(i): datetime.fromisoformat(str(at)).timestamp() for i, at in rows if i in started
        }

    def grant_states(self, subject_ids: Collection[str]) -> Counter[str]:
        """How many grants of these people are in each state."""
        rows = self._rows("SELECT subject_id, state FROM requests WHERE kind = 'grant'")
        return Counter(str(state) for subject, state in rows if subject in subject_ids)

    def subjects(self, ids: Collection[str]) -> set[str]:
        """Whom these requests are for."""
        rows = self._rows("SELECT id, subject_id FROM requests")
        return {str(s) for i, s in rows if i in ids}

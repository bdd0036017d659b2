"""The audit log is append-only: no code rewrites it, and the database refuses to."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from storage.audit import AuditLog
from storage.db import Database

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "salesforce", "storage")
# Statements that change or remove rows that exist (the triggers' own "ON audit_log" excepted).
REWRITES = re.compile(
    r"\b(?:UPDATE|DELETE\s+FROM|REPLACE\s+INTO|INSERT\s+OR\s+REPLACE\s+INTO"
    r"|DROP\s+(?:TABLE|TRIGGER)\s+(?:IF\s+EXISTS\s+)?)\s*[\"'`]?audit_log",
    re.IGNORECASE,
)
REWRITE_SQL = (
    "UPDATE audit_log SET actor = 'U0MALLORY'",
    "DELETE FROM audit_log",
    "INSERT OR REPLACE INTO audit_log (seq, at, actor, action, prev_hash, hash) "
    "VALUES (1, 'now', 'U0MALLORY', 'approved', '', 'forged')",
    "REPLACE INTO audit_log (at, actor, action, prev_hash, hash) "
    "SELECT at, 'U0MALLORY', action, prev_hash, hash FROM audit_log WHERE seq = 2",
)


def _source_files() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.suffix in (".py", ".sql") and "__pycache__" not in path.parts
    ]


def test_the_pattern_catches_what_it_should() -> None:
    for sql in (
        *REWRITE_SQL,
        "DROP TRIGGER IF EXISTS audit_log_no_update",
        'delete from "audit_log"',
    ):
        assert REWRITES.search(sql), sql
    for harmless in (
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log",
        "INSERT INTO audit_log (at) VALUES (?)",
        "SELECT * FROM audit_log",
    ):
        assert not REWRITES.search(harmless), harmless


def test_no_code_updates_or_deletes_audit_rows() -> None:
    files = _source_files()
    assert len(files) > 50
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if REWRITES.search(line)
    ]
    assert offenders == []


async def test_the_database_refuses_to_rewrite_or_remove_rows(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    async with Database(path) as db:
        log = AuditLog(db)
        for n in range(3):
            await log.append(request_id="R-TEST", actor="U0OMAR", action=f"step{n}")
    for sql in REWRITE_SQL:
        with (
            sqlite3.connect(path) as raw,
            pytest.raises(sqlite3.IntegrityError, match="append-only"),
        ):
            raw.execute(sql)
    async with Database(path) as db:
        check = await AuditLog(db).verify()
        entries = [e async for e in AuditLog(db).entries()]
    assert check.ok and check.rows == 3
    assert [(e.actor, e.action) for e in entries] == [("U0OMAR", f"step{n}") for n in range(3)]

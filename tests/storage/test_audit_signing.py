"""The audit log's HMAC: rows before the key stay verifiable, a different key is refused."""

from __future__ import annotations

import pytest

from storage.audit import AuditLog, ChainHead
from storage.audit_key import AuditKeyMismatch
from storage.db import Database

KEY = b"k" * 64


async def _append(db: Database, *actions: str) -> None:
    for action in actions:
        await AuditLog(db).append(request_id="R-1", actor="U0OMAR", action=action)


async def test_rows_from_before_the_key_keep_verifying(database_target: str) -> None:
    path = database_target
    async with Database(path) as db:  # an existing database, written before keys existed
        await _append(db, "submitted", "approved")
    async with Database(path, audit_key=KEY) as db:
        await _append(db, "provisioned")
        check = await AuditLog(db).verify(key=KEY)
        head = await AuditLog(db).head()
    assert check.ok and check.rows == 3 and check.signed_from == 3 and check.macs_checked
    assert check.head == head == ChainHead(rows=3, hash=head.hash)
    async with Database(path, audit_key=KEY) as db:  # a restart keeps the first signed row
        await _append(db, "expired")
        check = await AuditLog(db).verify(key=KEY, head=head)
    assert check.ok and check.rows == 4 and check.signed_from == 3


async def test_without_a_key_the_signed_rows_are_reported_unchecked(database_target: str) -> None:
    async with Database(database_target, audit_key=KEY) as db:
        await _append(db, "submitted")
        check = await AuditLog(db).verify()
    assert check.ok and check.signed_from == 1 and not check.macs_checked


async def test_a_different_key_is_refused_at_start(database_target: str) -> None:
    path = database_target
    async with Database(path, audit_key=KEY) as db:
        await _append(db, "submitted")
    with pytest.raises(AuditKeyMismatch, match="not the one this database's audit log is signed"):
        await Database(path, audit_key=b"x" * 64).open()
    async with Database(path) as db:
        check = await AuditLog(db).verify(key=b"x" * 64)
    assert not check.ok and check.problem.startswith("wrong audit key")


def test_a_head_reads_back_from_its_text() -> None:
    head = ChainHead(rows=12, hash="ab" * 32)
    assert ChainHead.parse(str(head)) == head
    for bad in ("12", "x:" + "ab" * 32, "12:abc", "12:" + "AB" * 32):
        with pytest.raises(ValueError, match="COUNT:HASH"):
            ChainHead.parse(bad)

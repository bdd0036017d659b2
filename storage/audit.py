"""The append-only audit log: every row carries the hash of the one before it.

Rows written once an audit key is configured also carry an HMAC of their hash, keyed by a
secret kept outside the database: whoever holds only the database file can neither rewrite
the chain with recomputed hashes nor sign new rows. Removing the newest rows is caught by a
head (row count and hash) published outside the database: see ``ChainHead``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage.audit_key import fingerprint, row_mac, same_mac
from storage.db import Connection, Database, Row, from_db_time, to_db_time
from storage.models import AuditEntry

GENESIS = "0" * 64


def _canonical(values: Mapping[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str,
    *,
    at: str,
    request_id: str | None,
    actor: str,
    action: str,
    from_state: str | None,
    to_state: str | None,
    detail: str,
) -> str:
    """The SHA-256 that chains one row to the previous one."""
    body = _canonical(
        {
            "prev": prev_hash,
            "at": at,
            "request_id": request_id,
            "actor": actor,
            "action": action,
            "from": from_state,
            "to": to_state,
            "detail": detail,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def row_hash(prev_hash: str, row: Row) -> str:
    """``entry_hash`` of a stored audit_log row."""
    return entry_hash(
        prev_hash,
        at=row["at"],
        request_id=row["request_id"],
        actor=row["actor"],
        action=row["action"],
        from_state=row["from_state"],
        to_state=row["to_state"],
        detail=row["detail"],
    )


_COLUMNS = "at, request_id, actor, action, from_state, to_state, detail, prev_hash, hash, mac"
_INSERT = f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
# Inserted only while ``prev_hash`` (the last parameter too) is still the last row's hash.
_INSERT_IF_LAST = (
    f"INSERT INTO audit_log ({_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "  # noqa: S608
    "WHERE (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1) = ?"
)


async def append_audit(
    conn: Connection,
    *,
    key: bytes | None,
    at: datetime,
    request_id: str | None,
    actor: str,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> str:
    """Append one row inside the caller's transaction; returns its hash.

    ``key`` is the database's audit key (``Database.audit_key``): the row's HMAC is keyed by it.

    The caller holds the write lock until its transaction commits, so each round trip here
    counts. When the connection knows the log's last hash (this process wrote it), the row is
    chained to it in one statement that inserts only if that is still the last row's hash;
    otherwise (another process wrote since, or nothing is known) the last hash is read first.
    """
    at_text = to_db_time(at) or ""
    values = (
        at_text,
        request_id,
        actor,
        action,
        from_state,
        to_state,
        _canonical(dict(detail or {})),
    )
    guess = conn.audit_head
    if guess is not None:
        digest, mac = _sign(key, guess, values)
        cur = await conn.execute(_INSERT_IF_LAST, (*values, guess, digest, mac, guess))
        if cur.rowcount == 1:
            conn.audit_head = digest
            return digest
    last = await conn.execute_fetchall("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    prev = next((str(row[0]) for row in last), GENESIS)
    digest, mac = _sign(key, prev, values)
    await conn.execute(_INSERT, (*values, prev, digest, mac))
    conn.audit_head = digest
    return digest


def _sign(
    key: bytes | None,
    prev: str,
    values: tuple[str, str | None, str, str, str | None, str | None, str],
) -> tuple[str, str | None]:
    """The hash chaining a row (at, request_id, actor, action, from, to, detail) to ``prev``,
    and its HMAC when the log is signed."""
    at, request_id, actor, action, from_state, to_state, detail = values
    digest = entry_hash(
        prev,
        at=at,
        request_id=request_id,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        detail=detail,
    )
    return digest, row_mac(key, digest) if key is not None else None


def _entry(row: Row) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        at=from_db_time(row["at"]),
        request_id=row["request_id"],
        actor=row["actor"],
        action=row["action"],
        from_state=row["from_state"],
        to_state=row["to_state"],
        detail=json.loads(row["detail"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


class ChainHead(BaseModel):
    """How many rows the log had and the hash of the last: published, it pins all of them."""

    model_config = ConfigDict(frozen=True)

    rows: int
    hash: str

    def __str__(self) -> str:
        return f"{self.rows}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> ChainHead:
        """Read ``COUNT:HASH`` as printed by export and the digest; ValueError says what is off."""
        count, _, digest = text.strip().partition(":")
        if (
            not count.isdigit()
            or len(digest) != 64
            or not all(c in "0123456789abcdef" for c in digest)
        ):
            raise ValueError(
                f"a head looks like COUNT:HASH (a row count and 64 hex digits): {text!r}"
            )
        return cls(rows=int(count), hash=digest)


class ChainCheck(BaseModel):
    """What ``AuditLog.verify`` found."""

    model_config = ConfigDict(frozen=True)

    rows: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str = ""
    # The first row signed with the audit key (rows before it predate the key); None: none is.
    signed_from: int | None = None
    # False when rows are signed but no key was given to check them.
    macs_checked: bool = True
    head: ChainHead | None = None


class AuditLog:
    """Reads, verifies and exports the audit log (rows are written by ``append_audit``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(
        self,
        *,
        request_id: str | None,
        actor: str,
        action: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an event that changes no request state (a click that was refused, a retry)."""
        async with self._db.transaction() as conn:
            await append_audit(
                conn,
                key=self._db.audit_key,
                at=self._db.clock(),
                request_id=request_id,
                actor=actor,
                action=action,
                detail=detail,
            )

    async def for_request(self, request_id: str) -> list[AuditEntry]:
        """Every row about one request, oldest first."""
        async with self._db.conn.execute(
            "SELECT * FROM audit_log WHERE request_id = ? ORDER BY seq", (request_id,)
        ) as cur:
            return [_entry(row) async for row in cur]

    async def entries(self, since: datetime | None = None) -> AsyncIterator[AuditEntry]:
        """All rows (at or after ``since``), oldest first, streamed."""
        query, args = "SELECT * FROM audit_log ORDER BY seq", ()
        if since is not None:
            query = "SELECT * FROM audit_log WHERE at >= ? ORDER BY seq"
            args = (to_db_time(since),)  # type: ignore[assignment]
        async with self._db.conn.execute(query, args) as cur:
            async for row in cur:
                yield _entry(row)

    async def head(self) -> ChainHead:
        """The log's current head: its row count and the hash of its last row."""
        async with self._db.conn.execute(
            "SELECT COUNT(*), (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1) FROM audit_log"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return ChainHead(rows=int(row[0]), hash=str(row[1] or GENESIS))

    async def numbered(
        self, since: datetime | None = None
    ) -> AsyncIterator[tuple[int, AuditEntry]]:
        """Rows (at or after ``since``) with their position in the whole log, oldest first."""
        query = (
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY seq) AS position "
            "FROM audit_log) AS numbered WHERE at >= ? ORDER BY seq"
        )
        async with self._db.conn.execute(query, (to_db_time(since) or "",)) as cur:
            async for row in cur:
                yield int(row["position"]), _entry(row)

    async def verify(
        self, *, key: bytes | None = None, head: ChainHead | None = None
    ) -> ChainCheck:
        """Recompute the chain (and, given the key, each signed row's HMAC); the first row that
        does not follow is reported. Given a published ``head``, the row it names must still
        hash to it: rows removed from the end, or a chain rebuilt before it, are found."""
        async with self._db.conn.execute("SELECT fingerprint, from_seq FROM audit_keys") as cur:
            signer = await cur.fetchone()
        signed_from = int(signer["from_seq"]) if signer is not None else None
        result = {"signed_from": signed_from, "macs_checked": key is not None or signer is None}
        if key is not None and signer is None:
            return ChainCheck(
                rows=0, ok=False, problem="an audit key is given but the log records none", **result
            )
        if key is not None and signer is not None and signer["fingerprint"] != fingerprint(key):
            return ChainCheck(
                rows=0,
                ok=False,
                problem=f"wrong audit key: the log is signed with key {signer['fingerprint']}, "
                f"this one is {fingerprint(key)}",
                **result,
            )
        prev = GENESIS
        count = 0

        def bad(seq: int, problem: str) -> ChainCheck:
            return ChainCheck(rows=count, ok=False, first_bad_seq=seq, problem=problem, **result)

        async with self._db.conn.execute("SELECT * FROM audit_log ORDER BY seq") as cur:
            async for row in cur:
                count += 1
                if row["prev_hash"] != prev:
                    return bad(row["seq"], "chain broken")
                expected = row_hash(prev, row)
                if expected != row["hash"]:
                    return bad(row["seq"], "row altered")
                if head is not None and count == head.rows and row["hash"] != head.hash:
                    return bad(row["seq"], f"head {head} no longer matches: rows were changed")
                if signed_from is not None and row["seq"] >= signed_from:
                    if row["mac"] is None:
                        return bad(row["seq"], "HMAC missing")
                    if key is not None and not same_mac(row_mac(key, row["hash"]), row["mac"]):
                        return bad(row["seq"], "HMAC does not match (rewritten)")
                prev = row["hash"]
        if head is not None and count < head.rows:
            return ChainCheck(
                rows=count,
                ok=False,
                problem=f"only {count} rows, the head {head} names {head.rows}: rows were removed",
                **result,
            )
        return ChainCheck(rows=count, ok=True, head=ChainHead(rows=count, hash=prev), **result)

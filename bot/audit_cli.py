"""``accessbot audit verify|export``: check the hash chain, write who did what."""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.csv_export import SafeCsvWriter
from storage.audit import AuditLog, ChainCheck, ChainHead
from storage.audit_key import MAC_ALGORITHM
from storage.db import Database, is_postgres
from storage.models import AuditEntry
from storage.requests import RequestRepository

# Who (actor) did what (action), when (at), to whom (subject), with what result; then the
# detail and the hash that chains the row to the one before it.
COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "subject",
    "subject_name",
    "result",
    "request_id",
    "from_state",
    "to_state",
    "detail",
    "hash",
    "chain_rows",
)


class MissingDatabase(Exception):
    """The database file does not exist (a typo in ACCESSBOT_DATABASE, say)."""


def _existing(path: Path | str) -> Path | str:
    if is_postgres(path):
        return path  # a server: opening it says whether it answers
    if not Path(path).is_file():
        raise MissingDatabase(f"no database at {path} (set ACCESSBOT_DATABASE)")
    return path


async def verify_audit(path: Path | str, key: bytes | None, head: ChainHead | None = None) -> bool:
    """Print whether the chain holds; False when a row was altered or removed.

    Given a published ``head``, also False when the rows up to it no longer hash to it.
    """
    async with Database(_existing(path)) as db:
        check = await AuditLog(db).verify(key=key, head=head)
    for line in _report(check, head):
        print(line)
    return check.ok and check.macs_checked


def _report(check: ChainCheck, head: ChainHead | None) -> list[str]:
    if not check.ok:
        where = f" at row {check.first_bad_seq}" if check.first_bad_seq is not None else ""
        return [f"audit log TAMPERED: {check.problem}{where}"]
    lines = [f"audit log intact: {check.rows} rows, hash chain verified"]
    if check.signed_from is None:
        lines.append("no row is signed: the bot has not run with an audit key yet")
    elif not check.macs_checked:
        lines.append(
            f"HMAC NOT CHECKED for rows from {check.signed_from} on: no audit key "
            "(set ACCESSBOT_AUDIT_KEY or ACCESSBOT_AUDIT_KEY_FILE)"
        )
    else:
        before = (
            f"; rows 1-{check.signed_from - 1} predate the key (hash chain only)"
            if check.signed_from > 1
            else ""
        )
        lines.append(f"HMAC ({MAC_ALGORITHM}) verified from row {check.signed_from} on{before}")
    if head is not None:
        lines.append(f"head {head.rows}:{head.hash[:12]}… matches: nothing before it changed")
    if check.head is not None:
        lines.append(f"current head: {check.head}")
    return lines


def _open(output: str | None) -> AbstractContextManager[TextIO]:
    if output is None:
        return nullcontext(sys.stdout)
    return open(output, "w", encoding="utf-8", newline="")


def result_of(entry: AuditEntry) -> str:
    """What the step ended in: the request's new state, a refusal and why, or a failure."""
    why = entry.detail.get("why")
    if entry.action.endswith("_refused") or why:
        return f"refused: {why}" if why else "refused"
    if entry.to_state:
        error = entry.detail.get("error") or entry.detail.get("problem")
        return f"{entry.to_state} ({error})" if error else entry.to_state
    return "done"


class _Subjects:
    """The person each request is about, read once per request."""

    def __init__(self, db: Database) -> None:
        self._repo = RequestRepository(db)
        self._known: dict[str, tuple[str, str]] = {}

    async def of(self, request_id: str | None) -> tuple[str, str]:
        if not request_id:
            return "", ""
        if request_id not in self._known:
            request = await self._repo.get(request_id)
            self._known[request_id] = (
                (request.subject_id, request.subject_name) if request else ("", "")
            )
        return self._known[request_id]


async def export_audit(
    path: Path | str, fmt: str, since: datetime | None, output: str | None
) -> int:
    """Write every row (since ``since``) as CSV or JSON lines; returns how many.

    Each row carries ``chain_rows``, its position in the whole log: ``chain_rows:hash`` of any
    row is a head for ``audit verify --head``. The log's head goes to standard error as well.
    """
    count = 0
    async with Database(_existing(path)) as db:
        subjects = _Subjects(db)
        log = AuditLog(db)
        head = await log.head()
        with _open(output) as out:
            writer = SafeCsvWriter(out) if fmt == "csv" else None
            if writer is not None:
                writer.writerow(COLUMNS)
            async for position, entry in log.numbered(since):
                if position > head.rows:
                    break  # written after the head was read: the next export has it
                row = entry.model_dump(mode="json")
                row["chain_rows"] = position
                row["subject"], row["subject_name"] = await subjects.of(entry.request_id)
                row["result"] = result_of(entry)
                if writer is not None:
                    row["detail"] = json.dumps(row["detail"], sort_keys=True)
                    writer.writerow([row[c] for c in COLUMNS])
                else:
                    out.write(json.dumps({c: row[c] for c in COLUMNS}, sort_keys=True) + "\n")
                count += 1
    print(f"audit log head: {head}", file=sys.stderr)
    return count

"""``accessbot audit verify|export``: check the hash chain, write who did what."""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.csv_export import SafeCsvWriter
from storage.audit import AuditLog
from storage.db import Database
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
)


class MissingDatabase(Exception):
    """The database file does not exist (a typo in ACCESSBOT_DATABASE, say)."""


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise MissingDatabase(f"no database at {path} (set ACCESSBOT_DATABASE)")
    return path


async def verify_audit(path: Path) -> bool:
    """Print whether the chain holds; False when a row was altered or removed."""
    async with Database(_existing(path)) as db:
        check = await AuditLog(db).verify()
    if check.ok:
        print(f"audit log intact: {check.rows} rows, hash chain verified")
    else:
        print(f"audit log TAMPERED: {check.problem} at row {check.first_bad_seq}")
    return check.ok


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


async def export_audit(path: Path, fmt: str, since: datetime | None, output: str | None) -> int:
    """Write every row (since ``since``) as CSV or JSON lines; returns how many."""
    count = 0
    async with Database(_existing(path)) as db:
        subjects = _Subjects(db)
        with _open(output) as out:
            writer = SafeCsvWriter(out) if fmt == "csv" else None
            if writer is not None:
                writer.writerow(COLUMNS)
            async for entry in AuditLog(db).entries(since):
                row = entry.model_dump(mode="json")
                row["subject"], row["subject_name"] = await subjects.of(entry.request_id)
                row["result"] = result_of(entry)
                if writer is not None:
                    row["detail"] = json.dumps(row["detail"], sort_keys=True)
                    writer.writerow([row[c] for c in COLUMNS])
                else:
                    out.write(json.dumps({c: row[c] for c in COLUMNS}, sort_keys=True) + "\n")
                count += 1
    return count

"""What admins made requestable (or stopped offering) from Slack, stored and audited.

The policy file seeds what may be requested; these rows are the changes made since, and the
effective policy is the file with them laid on top. Reads are served from memory because the
policy is consulted on every click; ``load`` picks up changes made by other processes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from storage.audit import AuditLog, append_audit
from storage.db import Database, from_db_time, to_db_time

OFFERED = "catalog_offered"
WITHDRAWN = "catalog_withdrawn"
REFUSED = "catalog_refused"


class PolicyOverride(BaseModel):
    """One record of the org made requestable, or no longer, for one application."""

    model_config = ConfigDict(frozen=True)

    application: str
    kind: str
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    requestable: bool
    changed_by: str
    changed_at: datetime


class PolicyOverrides:
    """The stored overrides, with an in-memory snapshot and a version that moves on change."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._rows: tuple[PolicyOverride, ...] = ()
        self._version = 0

    @property
    def snapshot(self) -> tuple[PolicyOverride, ...]:
        """The overrides as last loaded, oldest change first."""
        return self._rows

    @property
    def version(self) -> int:
        """Grows whenever the snapshot changes, so callers can cache what they derive from it."""
        return self._version

    async def load(self) -> tuple[PolicyOverride, ...]:
        """Read every override from the database (another process may have changed them)."""
        async with self._db.conn.execute(
            "SELECT * FROM policy_overrides ORDER BY changed_at, application, kind, name"
        ) as cur:
            rows = tuple(
                [
                    PolicyOverride(
                        application=row["application"],
                        kind=row["kind"],
                        name=row["name"],
                        aliases=tuple(json.loads(row["aliases"])),
                        requestable=bool(row["requestable"]),
                        changed_by=row["changed_by"],
                        changed_at=from_db_time(row["changed_at"]),
                    )
                    async for row in cur
                ]
            )
        if rows != self._rows:
            self._rows = rows
            self._version += 1
        return rows

    async def set(
        self,
        *,
        application: str,
        kind: str,
        name: str,
        requestable: bool,
        actor: str,
        aliases: Sequence[str] = (),
    ) -> PolicyOverride:
        """Store one change and its audit row in the same transaction, then reload."""
        now = self._db.clock()
        others = tuple(dict.fromkeys(a for a in aliases if a and a != name))
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO policy_overrides (application, kind, name, aliases, requestable, "
                "changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (application, kind, name) DO UPDATE SET aliases = excluded.aliases, "
                "requestable = excluded.requestable, changed_by = excluded.changed_by, "
                "changed_at = excluded.changed_at",
                (
                    application,
                    kind,
                    name,
                    json.dumps(list(others)),
                    int(requestable),
                    actor,
                    to_db_time(now),
                ),
            )
            await append_audit(
                conn,
                key=self._db.audit_key,
                at=now,
                request_id=None,
                actor=actor,
                action=OFFERED if requestable else WITHDRAWN,
                detail={"application": application, "kind": kind, "name": name},
            )
        await self.load()
        return PolicyOverride(
            application=application,
            kind=kind,
            name=name,
            aliases=others,
            requestable=requestable,
            changed_by=actor,
            changed_at=now,
        )

    async def refuse(
        self,
        *,
        application: str,
        kind: str,
        name: str,
        reasons: Sequence[str],
        actor: str,
    ) -> None:
        """Record that ``actor`` was refused offering ``name``, and why; nothing else changes."""
        await AuditLog(self._db).append(
            request_id=None,
            actor=actor,
            action=REFUSED,
            detail={
                "application": application,
                "kind": kind,
                "name": name,
                "reasons": list(reasons),
            },
        )

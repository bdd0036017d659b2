"""Copying a whole database into another (SQLite to PostgreSQL): every table, ids, audit chain.

Both ends are first brought to the current schema (the source is migrated as ``serve`` would);
the target must be empty. Rows go over in one transaction on the target, parents before
children (a table's own references, such as an extension naming its grant, are set in a
second pass), so the copy is all or nothing. The audit log's head must come out the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.audit import AuditLog, ChainHead
from storage.db import Connection, Database

_BATCH = 1000


class CopyRefused(ValueError):
    """The copy cannot be made as asked (a target that holds rows, a table it lacks)."""


@dataclass(frozen=True)
class CopyReport:
    """What went over: rows per table, and the audit log's head on both sides."""

    rows: dict[str, int]
    head: ChainHead


async def _references(db: Database, table: str) -> list[tuple[str, str]]:
    """(column, referenced table) for each foreign key of ``table``."""
    found = await db.conn.execute_fetchall(f'PRAGMA foreign_key_list("{table}")')
    return [(str(row["from"]), str(row["table"])) for row in found]


def _in_order(tables: list[str], refs: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Referenced tables before the tables that reference them."""
    ordered: list[str] = []

    def visit(table: str, seen: frozenset[str]) -> None:
        if table in ordered or table in seen:
            return
        for _, parent in refs[table]:
            if parent != table and parent in refs:
                visit(parent, seen | {table})
        ordered.append(table)

    for table in tables:
        visit(table, frozenset())
    return ordered


async def copy_database(source: str | Path, target: str) -> CopyReport:
    """Copy every row of ``source`` (a SQLite file) into the empty database ``target``."""
    async with Database(source) as src, Database(target) as dst:
        if src.backend != "sqlite":
            raise CopyRefused("the source must be a SQLite file")
        tables = await src.tables()
        present = set(await dst.tables())
        refs = {table: await _references(src, table) for table in tables}
        rows: dict[str, int] = {}
        async with dst.transaction() as out:
            for table in tables:
                if table not in present:
                    raise CopyRefused(f"the target has no table {table}: is it a newer schema?")
                if await _count(out, table):
                    raise CopyRefused(
                        f"the target already holds rows in {table}: copy into an empty database"
                    )
            for table in _in_order(tables, refs):
                own = [column for column, parent in refs[table] if parent == table]
                rows[table] = await _copy_table(src, out, table, own)
            await dst.renumber(out)
        head = await AuditLog(src).head()
        copied = await AuditLog(dst).head()
        if copied != head:
            raise CopyRefused(f"the copy's audit head {copied} differs from the source's {head}")
    return CopyReport(rows=rows, head=head)


async def _count(conn: Connection, table: str) -> int:
    found = await conn.execute_fetchall(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608
    return int(found[0][0])


async def _copy_table(src: Database, out: Connection, table: str, own_refs: list[str]) -> int:
    found = await src.conn.execute_fetchall(f'SELECT * FROM "{table}"')  # noqa: S608
    if not found:
        return 0
    columns = list(found[0].keys())
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    insert = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608
    later: list[tuple[Any, ...]] = []
    batch: list[Sequence[Any]] = []
    for row in found:
        values = [row[c] for c in columns]
        if own_refs:  # a row may name one copied after it: set those in a second pass
            later.append((*(row[c] for c in own_refs), row[columns[0]]))
            for c in own_refs:
                values[columns.index(c)] = None
        batch.append(values)
        if len(batch) >= _BATCH:
            await out.executemany(insert, batch)
            batch = []
    if batch:
        await out.executemany(insert, batch)
    if own_refs:
        sets = ", ".join(f'"{c}" = ?' for c in own_refs)
        update = f'UPDATE "{table}" SET {sets} WHERE "{columns[0]}" = ?'  # noqa: S608
        await out.executemany(update, [values for values in later if any(values[:-1])])
    return len(found)

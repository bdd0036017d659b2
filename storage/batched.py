"""Small writes from many tasks, committed together: one write transaction per turn.

Under load every write transaction waits its turn for the write lock; bookkeeping that many
tasks do at once (a Slack message queued for later, marked sent or deferred) would take a turn
each. Each caller still waits until its statement is committed, as with a transaction of its
own; the statements that arrive while a batch waits for the lock go together in the next.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database, Row

log = logging.getLogger(__name__)


@dataclass
class _Write:
    sql: str
    params: Sequence[Any] | dict[str, Any]
    done: asyncio.Future[tuple[list[Row], int]] = field(repr=False)


class BatchedWrites:
    """Runs each statement given to ``write`` in a write transaction shared with the others
    waiting at the time, in the order given."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: list[_Write] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(
        self, sql: str, params: Sequence[Any] | dict[str, Any]
    ) -> tuple[list[Row], int]:
        """Run ``sql`` once committed with the rest of its batch: its rows and row count."""
        done: asyncio.Future[tuple[list[Row], int]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Write(sql, params, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        return await done

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                results = await self._commit(batch)
            except Exception:
                for write in batch:
                    await self._alone(write)
                continue
            for write, result in zip(batch, results, strict=True):
                if not write.done.done():
                    write.done.set_result(result)

    async def _commit(self, batch: list[_Write]) -> list[tuple[list[Row], int]]:
        results = []
        async with self._db.transaction() as conn:
            for write in batch:
                cursor = await conn.execute(write.sql, write.params)
                results.append((await cursor.fetchall(), cursor.rowcount))
        return results

    async def _alone(self, write: _Write) -> None:
        try:
            (result,) = await self._commit([write])
        except Exception as error:
            if not write.done.done():
                write.done.set_exception(error)
            return
        if not write.done.done():
            write.done.set_result(result)

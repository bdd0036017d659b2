"""Readiness checks on their own: the database's schema version, and kept answers."""

from __future__ import annotations

from pathlib import Path

from handlers.ops.readiness import CachedCheck, CheckFailed, database_check, run_check
from storage.db import Database, latest_migration


async def test_the_database_check_names_a_schema_newer_than_the_code(tmp_path: Path) -> None:
    async with Database(tmp_path / "bot.sqlite3") as db:
        ok = await run_check(database_check(db))
        assert ok.ok and ok.detail == f"schema version {latest_migration()}"
        await db.conn.execute(f"PRAGMA user_version = {latest_migration() + 1}")
        newer = await run_check(database_check(db))
        assert not newer.ok and "newer than this code knows" in newer.detail
        await db.conn.execute(f"PRAGMA user_version = {latest_migration() - 1}")
        older = await run_check(database_check(db))
        assert not older.ok and older.detail.startswith("migrations pending")


async def test_the_database_check_fails_when_the_connection_is_gone(tmp_path: Path) -> None:
    db = await Database(tmp_path / "bot.sqlite3").open()
    await db.close()
    answer = await run_check(database_check(db))
    assert not answer.ok and "Database.open() was not called" in answer.detail


async def test_answers_are_kept_while_fresh_and_failures_more_briefly() -> None:
    runs: list[bool] = []
    outcomes = iter([True, False, True])

    async def flaky() -> str:
        runs.append(True)
        if not next(outcomes):
            raise CheckFailed("down")
        return "up"

    kept = CachedCheck(flaky, ok_ttl=3600, fail_ttl=0)
    assert (await kept()).ok and (await kept()).ok
    assert len(runs) == 1  # the second probe got the kept answer

    failing = CachedCheck(flaky, ok_ttl=3600, fail_ttl=0)
    answer = await failing()
    assert (answer.ok, answer.detail) == (False, "down")
    assert (await failing()).ok  # a failure is not kept past fail_ttl
    assert len(runs) == 3

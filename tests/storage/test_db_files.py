"""The database, its -wal and -shm files and its folder are created private, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.audit_secret import load_audit_key
from bot.settings import Settings
from storage.db import Database
from storage.db_files import loose_paths
from storage.kv import JobLeases


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common default: new files readable by everyone (0644), folders 0755."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
async def test_a_new_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "accessbot.sqlite3"
    async with Database(path) as db:
        await JobLeases(db).make_due("catalog_refresh")  # a write: the -wal and -shm exist
        wal, shm = path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")
        assert wal.exists() and shm.exists()
        assert {p.name: mode(p) for p in (path.parent, path, wal, shm)} == {
            "var": 0o700,
            "accessbot.sqlite3": 0o600,
            "accessbot.sqlite3-wal": 0o600,
            "accessbot.sqlite3-shm": 0o600,
        }
        assert loose_paths(path) == []


@pytest.mark.usefixtures("open_umask")
async def test_an_existing_database_keeps_its_modes_and_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    folder.mkdir(mode=0o755)
    path = folder / "accessbot.sqlite3"
    path.touch(mode=0o644)
    async with Database(path):
        pass
    assert (mode(folder), mode(path)) == (0o755, 0o644)  # the operator's files: only reported
    assert [(p.path.name, p.fix) for p in loose_paths(path)] == [
        ("var", f"chmod 700 {folder}"),
        ("accessbot.sqlite3", f"chmod 600 {path}"),
    ]


@pytest.mark.usefixtures("open_umask")
async def test_the_audit_key_made_first_leaves_the_folder_private(tmp_path: Path) -> None:
    """`serve` makes the audit key file (beside the database) before it opens the database."""
    path = tmp_path / "var" / "accessbot.sqlite3"
    settings = Settings(_env_file=None, ACCESSBOT_DATABASE=path)
    key = load_audit_key(settings, create=True)
    async with Database(path, audit_key=key):
        pass
    assert (mode(path.parent), mode(settings.audit_key_path), mode(path)) == (0o700, 0o600, 0o600)
    assert loose_paths(path) == []

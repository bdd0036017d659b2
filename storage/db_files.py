"""The database is private: its folder 0700, the file 0600 (SQLite gives -wal and -shm its mode)."""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# SQLite's companions of a WAL database; it creates them with the database file's mode.
COMPANION_SUFFIXES = ("-wal", "-shm")


@dataclass(frozen=True)
class LoosePath:
    """A database folder or file that others may read or enter."""

    path: Path
    mode: int
    wanted: int

    @property
    def fix(self) -> str:
        """The command that makes it private."""
        return f"chmod {self.wanted:o} {shlex.quote(str(self.path))}"


def create_private_folder(folder: Path) -> None:
    """Create ``folder`` (0700) unless it exists; one that exists is the operator's to keep."""
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(DIR_MODE)  # mkdir's mode passes through the umask; chmod does not


def create_private(path: Path) -> None:
    """Create the database's folder (0700) and an empty file (0600) unless they exist."""
    create_private_folder(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)
    path.chmod(FILE_MODE)


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in COMPANION_SUFFIXES]


def loose_paths(path: Path) -> list[LoosePath]:
    """The database folder and files that give the group or others any access."""
    candidates = [(path.parent, DIR_MODE), (path, FILE_MODE)]
    candidates += [(companion, FILE_MODE) for companion in _companions(path)]
    found = []
    for candidate, wanted in candidates:
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            found.append(LoosePath(candidate, mode, wanted))
    return found

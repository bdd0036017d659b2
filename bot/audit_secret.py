"""The audit key: from ``ACCESSBOT_AUDIT_KEY``, or a key file created (0600) on first start."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from bot.settings import Settings
from storage.db_files import create_private_folder

MIN_KEY_CHARS = 32


class AuditKeyError(ValueError):
    """The audit key cannot be used; the message says what to fix."""


def load_audit_key(settings: Settings, *, create: bool) -> bytes | None:
    """The key that signs the audit log; ``create`` makes the key file when there is none."""
    if settings.audit_key is not None:
        value = settings.audit_key.get_secret_value().strip()
        if len(value) < MIN_KEY_CHARS:
            raise AuditKeyError(
                f"ACCESSBOT_AUDIT_KEY must be at least {MIN_KEY_CHARS} characters "
                "(for example the output of `openssl rand -hex 32`)"
            )
        return value.encode("utf-8")
    path = settings.audit_key_path
    if not path.exists():
        if not create:
            return None
        _create_key_file(path)
    return _read_key_file(path)


def _create_key_file(path: Path) -> None:
    """Write a new random key readable by the owner only; a key another process wrote first wins."""
    create_private_folder(path.parent)  # by default the database's folder, made first here
    draft = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(draft, path)  # atomic, and never replaces a key that exists
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            draft.unlink()


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(
            f"the audit key file {path} is open to other users (mode {stat.S_IMODE(mode):o}): "
            f"chmod 600 {path}"
        )
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_KEY_CHARS:
        raise AuditKeyError(f"the audit key file {path} holds no key (or a short one)")
    return value.encode("utf-8")

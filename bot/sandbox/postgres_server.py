"""A throwaway PostgreSQL server for the tests and the bench: Debian's binaries, a temporary
data directory, a loopback port, stopped at the end. initdb and postgres refuse to run as root,
so as root the server runs as the ``postgres`` system user the Debian package creates (through
setpriv)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import psycopg

SERVER_USER = "postgres"
_START_TIMEOUT = 60.0


def server_binaries() -> Path | None:
    """The folder of ``initdb`` and ``postgres``: on PATH, or Debian's newest version."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    pwd.getpwnam(SERVER_USER)  # KeyError: the package's system user is missing
    # setpriv execs the command itself (runuser would stay as a parent that keeps signals)
    return ["setpriv", f"--reuid={SERVER_USER}", f"--regid={SERVER_USER}", "--init-groups", "--"]


class PostgresServer:
    """A running server; ``new_database_url()`` hands each test a fresh, empty schema."""

    def __init__(self, port: int, admin_url: str) -> None:
        self.port = port
        self.admin_url = admin_url
        self._names = count(1)

    def new_database_url(self, prefix: str = "t") -> str:
        """A URL whose tables live in a new schema of their own (search_path set by it)."""
        schema = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return f"{self.admin_url}?options=-csearch_path%3D{schema}"


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a server in a temporary folder; stop it and remove the folder at the end."""
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError(
            "PostgreSQL's server binaries (initdb, postgres) are not installed: run "
            "scripts/bootstrap as root (it installs Debian's postgresql) or apt-get install "
            "postgresql"
        )
    runner = _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="accessbot-pg-"))
    data = folder / "data"
    if runner:
        folder.chmod(0o755)
        shutil.chown(folder, SERVER_USER, SERVER_USER)
    subprocess.run(  # noqa: S603 - our own binaries and arguments
        [
            *runner,
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own binaries and arguments
        [
            *runner,
            str(binaries / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "server.log").open("wb"),
        start_new_session=True,
    )
    admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        _wait_until_ready(admin_url, server, folder)
        yield PostgresServer(port, admin_url)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)  # fast shutdown
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)  # its own session: the server and children
                server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_ready(url: str, server: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        if server.poll() is not None:
            log = (folder / "server.log").read_text(errors="replace")
            raise RuntimeError(f"PostgreSQL did not start:\n{log}")
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:  # not accepting connections yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

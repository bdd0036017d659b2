"""Serving a simulated org over HTTPS from a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import trustme
from aiohttp import web

from bot.sandbox.sf_http import build_app
from bot.sandbox.sf_tls import server_context, write_ca_bundle

if TYPE_CHECKING:
    from bot.sandbox.salesforce_org import SimulatedOrg


class OrgServer:
    """Serves ``org`` on https://127.0.0.1:PORT for sync, async and out-of-process callers."""

    def __init__(self, org: SimulatedOrg, ca: trustme.CA | None = None, *, port: int = 0) -> None:
        self.org = org
        self.ca = ca or trustme.CA()
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._ca_path: Path | None = None
        self._token: str | None = None

    @property
    def instance_url(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return f"https://127.0.0.1:{self._port}"

    @property
    def ca_bundle_path(self) -> str:
        """PEM file holding the CA that signed the server certificate."""
        if self._ca_path is None:
            raise RuntimeError("server not started")
        return str(self._ca_path)

    @property
    def access_token(self) -> str:
        """A token for the integration user, issued once (it dies with expire_sessions())."""
        if self._token is None:
            self._token = self.org.issue_token()
        return self._token

    def start(self) -> None:
        """Bind, start serving in a background thread, and return once requests are accepted."""
        self._tmp = tempfile.TemporaryDirectory(prefix="simulated-salesforce-")
        self._ca_path = write_ca_bundle(self.ca, Path(self._tmp.name))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self._port = sock.getsockname()[1]
        self.org.instance_url = self.instance_url
        self.org.stopping.clear()
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve,
            args=(sock, ready, failure),
            name="simulated-salesforce",
            daemon=True,
        )
        self._thread.start()
        ready.wait(10)
        if failure:
            raise RuntimeError("simulated Salesforce failed to start") from failure[0]

    def _serve(
        self, sock: socket.socket, ready: threading.Event, failure: list[BaseException]
    ) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        runner = web.AppRunner(build_app(self.org), shutdown_timeout=1.0, access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            site = web.SockSite(runner, sock, ssl_context=server_context(self.ca))
            loop.run_until_complete(site.start())
        except BaseException as exc:  # report any start-up failure to the starting thread
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    def stop(self) -> None:
        """Release parked requests, stop serving and remove the CA file."""
        self.org.stopping.set()
        self.org.release_all()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> OrgServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""An aiohttp application served on 127.0.0.1 from its own thread and event loop.

A separate loop lets the bot under test (in the caller's loop, or another process) reach the
server without either side blocking the other.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from aiohttp import web

START_TIMEOUT_SECONDS = 10.0


class BackgroundServer:
    """Runs ``app_factory()`` on ``host:port`` (0 picks a free port) until ``stop()``."""

    def __init__(
        self,
        app_factory: Callable[[], web.Application],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "background-server",
    ) -> None:
        self._factory = app_factory
        self._host = host
        self._port = port
        self._name = name
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bound_port: int | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._bound_port is None:
            raise RuntimeError("the server is not running; call start() first")
        return self._bound_port

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start serving; returns once the port is bound (raises what binding raised)."""
        if self._thread is not None:
            raise RuntimeError("already started")
        ready = threading.Event()
        failures: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, failures), name=self._name, daemon=True
        )
        self._thread.start()
        if not ready.wait(START_TIMEOUT_SECONDS):
            raise TimeoutError(f"{self._name} did not start")
        if failures:
            self._thread.join()
            self._thread = None
            raise failures[0]

    def stop(self) -> None:
        """Stop serving and wait for the thread to finish."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT_SECONDS)
        self._thread = None
        self._loop = None
        self._bound_port = None

    def _serve(self, ready: threading.Event, failures: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self._factory(), access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self._host, self._port)
            loop.run_until_complete(site.start())
            address = runner.addresses[0]
            self._bound_port = int(address[1])
        except BaseException as exc:  # handed to start() in the caller's thread
            failures.append(exc)
            loop.run_until_complete(runner.cleanup())
            loop.close()
            ready.set()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

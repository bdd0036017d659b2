"""A stage running on its own event loop thread, for synchronous tests (hypothesis) to drive."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from bot.sandbox.stage import Stage, start_stage

T = TypeVar("T")


class LiveStage:
    """Starts a stage in a background loop; ``run`` executes coroutines there and waits."""

    def __init__(self, directory: Path, **options: Any) -> None:
        self._directory = directory
        self._options = options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-stage")
        self._stage: Stage | None = None

    @property
    def stage(self) -> Stage:
        """The running stage."""
        assert self._stage is not None, "LiveStage is not started"
        return self._stage

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``work`` on the stage's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def __enter__(self) -> LiveStage:
        self._thread.start()
        self._stage = self.run(start_stage(self._directory, **self._options))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._stage is not None:
                self.run(self._stage.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


async def listeners_done(timeout: float = 5.0) -> None:
    """Wait for listeners still running after their ack.

    Bolt's asyncio runner acknowledges first and finishes each listener in a task running
    ``run_ack_function_asynchronously``; that name is how the tasks are found.
    """
    async with asyncio.timeout(timeout):
        while running := [
            task
            for task in asyncio.all_tasks()
            if getattr(task.get_coro(), "__name__", "") == "run_ack_function_asynchronously"
        ]:
            await asyncio.wait(running)

"""One live process per worker id: a heartbeat taken at start, renewed, released at shutdown."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from pathlib import Path

from storage.workers import Heartbeat, Heartbeats, ProcessStamp

log = logging.getLogger(__name__)

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
MIN_LEASE = timedelta(seconds=30)


class WorkerIdInUse(ValueError):
    """Another live process runs with this worker id on this database."""


def this_process() -> ProcessStamp:
    """The current process: host, pid, and the machine's boot (pids start over at a reboot)."""
    try:
        boot = BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        boot = ""
    return ProcessStamp(host=socket.gethostname(), pid=os.getpid(), boot_id=boot)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def died(holder: Heartbeat, me: ProcessStamp) -> bool:
    """Whether the holder is known to be dead: this process (a runtime that never closed), a
    pid gone on this host since this boot, or any process of this host before a reboot."""
    if holder.host != me.host:
        return False  # another machine: only its lease tells
    if holder.boot_id != me.boot_id:
        return bool(holder.boot_id and me.boot_id)
    return holder.pid == me.pid or not _alive(holder.pid)


class WorkerHeartbeat:
    """This process's claim on its worker id."""

    def __init__(self, heartbeats: Heartbeats, worker_id: str, tick: timedelta) -> None:
        self._heartbeats = heartbeats
        self._worker_id = worker_id
        self._me = this_process()
        self._lease = max(MIN_LEASE, 4 * tick)
        self._stopped = False

    @property
    def every(self) -> float:
        """Seconds between two renewals: three chances before the lease runs out."""
        return self._lease.total_seconds() / 3

    async def start(self) -> None:
        """Take the worker id, or raise ``WorkerIdInUse`` saying what to do."""
        holder = await self._heartbeats.take(
            self._worker_id, self._me, self._lease, gone=lambda h: died(h, self._me)
        )
        if holder is not None:
            raise WorkerIdInUse(
                f"another process (pid {holder.pid} on {holder.host}, running since "
                f"{holder.started_at:%Y-%m-%d %H:%M:%S} UTC) runs as worker id "
                f"{self._worker_id!r} on this database; give each process its own "
                "ACCESSBOT_WORKER_ID"
            )

    async def beat(self) -> None:
        """Renew the lease (a scheduled job)."""
        if self._stopped:
            return
        if not await self._heartbeats.renew(self._worker_id, self._me, self._lease):
            log.error(
                "another process took over worker id %r: two processes now share it; "
                "give each its own ACCESSBOT_WORKER_ID",
                self._worker_id,
            )

    async def stop(self) -> None:
        """Release the worker id (clean shutdown)."""
        self._stopped = True
        await self._heartbeats.release(self._worker_id, self._me)

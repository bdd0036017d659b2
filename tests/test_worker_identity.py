"""The worker id: stable per host and database by default, held by one live process at a time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.heartbeat import WorkerHeartbeat, WorkerIdInUse, died, this_process
from bot.settings import Settings
from storage.db import Database
from storage.workers import Heartbeat, Heartbeats, ProcessStamp


def _settings(database: Path) -> Settings:
    return Settings(_env_file=None, ACCESSBOT_DATABASE=database)  # type: ignore[call-arg]


def test_the_default_worker_id_survives_a_restart_and_names_the_database(tmp_path: Path) -> None:
    first = _settings(tmp_path / "a" / "accessbot.sqlite3").worker_id
    assert first == _settings(tmp_path / "a" / "accessbot.sqlite3").worker_id
    assert first.startswith(f"{socket.gethostname()}:")
    assert str(os.getpid()) not in first.split(":", 1)[1]
    assert first != _settings(tmp_path / "b" / "accessbot.sqlite3").worker_id
    explicit = Settings(_env_file=None, ACCESSBOT_WORKER_ID="bot-1")  # type: ignore[call-arg]
    assert explicit.worker_id == "bot-1"


def _holder(stamp: ProcessStamp) -> Heartbeat:
    now = datetime.now(UTC)
    return Heartbeat(worker_id="w", started_at=now, leased_until=now, **stamp.model_dump())


def test_a_killed_process_on_this_host_is_known_dead_at_once() -> None:
    me = this_process()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = me.model_copy(update={"pid": child.pid})
        assert not died(_holder(live), me)
    finally:
        child.kill()
        child.wait()
    assert died(_holder(live), me)
    assert died(_holder(me), me)  # this very process: a runtime that never closed
    assert not died(_holder(me.model_copy(update={"host": "elsewhere"})), me)
    if me.boot_id:  # a heartbeat from before this machine rebooted
        assert died(_holder(live.model_copy(update={"pid": 1, "boot_id": "older"})), me)


async def test_a_live_holder_refuses_a_second_start_until_it_stops(tmp_path: Path) -> None:
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    async with Database(tmp_path / "w.sqlite3", clock=lambda: now[0]) as db:
        beats = Heartbeats(db)
        init = ProcessStamp(host=socket.gethostname(), pid=1, boot_id=this_process().boot_id)
        assert await beats.take("bot-1", init, timedelta(seconds=30), gone=lambda _: False) is None
        second = WorkerHeartbeat(beats, "bot-1", timedelta(seconds=5))
        with pytest.raises(WorkerIdInUse, match=r"pid 1 on .*'bot-1'.*ACCESSBOT_WORKER_ID"):
            await second.start()
        now[0] += timedelta(seconds=31)  # pid 1 lives, but stopped renewing
        await second.start()
        assert await beats.renew("bot-1", this_process(), timedelta(seconds=30))
        assert not await beats.renew("bot-1", init, timedelta(seconds=30))  # taken over
        await second.stop()
        async with db.conn.execute("SELECT COUNT(*) FROM workers") as cur:
            row = await cur.fetchone()
        assert row is not None and row[0] == 0

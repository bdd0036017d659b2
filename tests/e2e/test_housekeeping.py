"""Housekeeping: old Slack event ids are forgotten daily; a worker id is held by one process."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.heartbeat import WorkerIdInUse
from bot.wiring import build_runtime
from storage.workers import Heartbeats, ProcessStamp
from tests.e2e.lifecycle_steps import ShiftedClock, start, tick
from tests.e2e.stages import StageOpener


async def test_slack_event_ids_older_than_a_week_are_forgotten_by_the_daily_job(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock)
    try:
        events = stage.runtime.deps.events
        await tick(stage)  # today's daily jobs are done
        assert await events.first_time("Ev0OLD")
        clock.advance(timedelta(days=6))
        assert await events.first_time("Ev0RECENT")
        clock.advance(timedelta(days=1, hours=1))
        await tick(stage)
        assert await events.first_time("Ev0OLD")  # forgotten: seen as new again
        assert not await events.first_time("Ev0RECENT")  # a day old: still known
    finally:
        await stage.close()


async def test_a_second_live_process_with_the_same_worker_id_is_refused(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock)
    try:
        worker = stage.runtime.settings.worker_id
        assert stage.runtime.heartbeat is not None
        # the stage's heartbeat given up, another machine runs as the same worker id
        await stage.runtime.heartbeat.stop()
        other = ProcessStamp(host="elsewhere", pid=1, boot_id="b")
        taken = await Heartbeats(stage.runtime.db).take(
            worker, other, timedelta(seconds=30), gone=lambda _: False
        )
        assert taken is None
        with pytest.raises(
            WorkerIdInUse, match=r"on elsewhere.*give each process its own ACCESSBOT_WORKER_ID"
        ):
            await build_runtime(stage.runtime.settings, lambda: stage.policy, clock=clock)
        clock.advance(timedelta(seconds=31))  # that machine stopped renewing: its lease ran out
        second = await build_runtime(stage.runtime.settings, lambda: stage.policy, clock=clock)
        await second.close()
    finally:
        await stage.close()

"""A departure is never lost: not to a failure while recording it, not to a missed event."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from bot.sandbox.stage import JANE, Stage
from storage.models import State
from tests.e2e.test_revocation import active_grant, revocation_of, until_state


def fail_once(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> asyncio.Event:
    """The next call of ``target.name`` raises as a full disk would; later calls go through."""
    real = getattr(target, name)
    failed = asyncio.Event()

    async def failing(*args: Any, **kwargs: Any) -> Any:
        if not failed.is_set():
            failed.set()
            raise sqlite3.OperationalError("database or disk is full")
        return await real(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)
    return failed


async def test_a_departure_that_failed_to_record_is_recorded_on_slacks_redelivery(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    grant = await active_grant(stage, JANE.id)
    repo = stage.runtime.deps.repo
    failed = fail_once(monkeypatch, repo, "create")  # opening the revocation fails once
    event = {"type": "user_change", "user": stage.slack.set_deleted(JANE.id), "cache_ts": 1}

    first = await stage.workspace.event(event, event_id="EvLEFT0001")
    async with asyncio.timeout(5):
        await failed.wait()
    again = await stage.workspace.event(
        event, event_id="EvLEFT0001", retry_num=1, retry_reason="http_error"
    )

    assert again.status == 200
    revoked = await until_state(stage, grant.id, State.REVOKED)
    assert revoked.state is State.REVOKED
    sf_user = stage.org.user(grant.sf_user_id or "")
    assert sf_user is not None and not sf_user.is_active
    revocation = await revocation_of(stage, grant)
    assert revocation.state is State.DONE and revocation.requester_id == "bot"
    # Slack heard the first delivery failed, which is what makes it deliver again
    assert first.status == 500

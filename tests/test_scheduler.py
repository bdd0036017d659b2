"""The ticker runs each job on its own: one that fails does not stop the others."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest

from bot.scheduler import Ticker


async def test_a_failing_job_is_logged_by_name_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []
    ticker = Ticker(60)

    def job(name: str, *, fails: bool = False) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            ran.append(name)
            if fails:
                raise RuntimeError(f"{name} broke")
            return 1

        return run

    ticker.add("first", job("first"))
    ticker.add("broken", job("broken", fails=True))
    ticker.add("last", job("last"))
    with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        failed = await ticker.run_all_once()
        assert await ticker.run_all_once() == ["broken"]  # again next time, the rest too

    assert failed == ["broken"]
    assert ran == ["first", "broken", "last"] * 2
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all("broken" in r.getMessage() for r in errors)
    assert all("broken broke" in _with_traceback(r) for r in errors)


def _with_traceback(record: logging.LogRecord) -> str:
    """The message and its traceback (the secret filter, once installed, folds it in)."""
    if record.exc_info:
        return record.getMessage() + logging.Formatter().formatException(record.exc_info)
    return record.getMessage()


async def test_a_tick_without_failures_reports_none() -> None:
    ticker = Ticker(60)

    async def fine() -> None:
        return None

    ticker.add("fine", fine)
    assert await ticker.run_all_once() == []

"""Messages to one conversation reach Slack in the order the bot sent them, 429s or not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SimulatedSlack
from handlers.delivery import OLDER_WAITING, SlackDelivery
from handlers.rate_limits import RateLimitCounter, retry_handlers
from handlers.views.message import SlackMessage
from storage.db import Database
from storage.outbox import Outbox
from storage.requests import RequestRepository

LEASE = timedelta(minutes=5)


@pytest.fixture
def slack() -> AsyncIterator[SimulatedSlack]:
    with SimulatedSlack() as simulated:
        for user in ("U0ANN", "U0BEN"):
            simulated.add_user(user, name=user.lower(), real_name=user, email=f"{user}@acme.com")
        yield simulated


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "bot.sqlite3").open()
    yield database
    await database.close()


def _delivery(
    slack: SimulatedSlack, db: Database, counter: RateLimitCounter | None = None
) -> SlackDelivery:
    handlers = retry_handlers(counter) if counter is not None else []
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=handlers)
    return SlackDelivery(
        client, RequestRepository(db), Outbox(db), db.clock, worker="here", lease=LEASE
    )


def _texts(slack: SimulatedSlack, user: str) -> list[str]:
    return [m.text for m in slack.dms(user)]


async def test_a_burst_to_one_person_goes_out_in_order_and_others_do_not_wait(
    slack: SimulatedSlack, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    counter = RateLimitCounter()
    delivery = _delivery(slack, db, counter)
    caplog.set_level(logging.DEBUG, logger="handlers.rate_limits")
    loop = asyncio.get_running_loop()
    started = loop.time()
    ben_done: list[float] = []

    async def to_ben() -> None:
        await asyncio.sleep(0.05)  # once Ann's burst is under way
        await delivery.post("U0BEN", SlackMessage(text="for ben"))
        ben_done.append(loop.time() - started)

    await asyncio.gather(
        *(delivery.post("U0ANN", SlackMessage(text=f"ann {n}")) for n in range(5)), to_ben()
    )
    assert _texts(slack, "U0ANN") == [f"ann {n}" for n in range(5)]
    assert _texts(slack, "U0BEN") == ["for ben"]
    assert ben_done[0] < 1.0  # Ann's wait for Slack held nobody else back
    refused = slack.rate_limited_calls("chat.postMessage")
    assert refused and counter.total == len(refused) == counter.by_method["chat.postMessage"]
    assert "Slack rate-limited chat.postMessage (Retry-After 1 s)" in caplog.text
    assert await Outbox(db).pending() == 0


async def test_a_post_queues_behind_an_older_one_waiting_in_the_outbox(
    slack: SimulatedSlack, db: Database
) -> None:
    delivery = _delivery(slack, db)
    slack.fail_next("chat.postMessage", status=500, channel="U0ANN")
    assert await delivery.post("U0ANN", SlackMessage(text="first")) is None  # stored
    # Slack would take this one now, but it would overtake the first.
    assert await delivery.post("U0ANN", SlackMessage(text="second")) is None
    assert await delivery.post("U0BEN", SlackMessage(text="unrelated")) is not None
    assert _texts(slack, "U0ANN") == []
    async with db.conn.execute("SELECT text, last_error FROM outbox ORDER BY id") as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    assert rows[1] == ("second", OLDER_WAITING)
    assert await delivery.flush() == 2
    assert _texts(slack, "U0ANN") == ["first", "second"]


async def test_a_rate_limited_flush_holds_back_the_conversations_later_messages(
    slack: SimulatedSlack, db: Database
) -> None:
    delivery = _delivery(slack, db)  # no retries: the flush itself meets the 429
    outbox = Outbox(db)
    for n in range(3):
        await outbox.add(
            method="chat.postMessage", channel="U0ANN", text=f"ann {n}", blocks=[], error="500"
        )
    await outbox.add(method="chat.postMessage", channel="U0BEN", text="ben", blocks=[], error="500")
    slack.fail_next("chat.postMessage", status=429, retry_after=30, channel="U0ANN")
    assert await delivery.flush() == 1  # Ben's; Ann's three wait for the Retry-After
    assert _texts(slack, "U0BEN") == ["ben"]
    assert _texts(slack, "U0ANN") == []
    async with db.conn.execute(
        "SELECT text, attempts, next_attempt_at FROM outbox WHERE channel = 'U0ANN' ORDER BY id"
    ) as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    assert [r[1] for r in rows] == [2, 1, 1]  # only the refused one counts an attempt
    assert len({r[2] for r in rows}) == 1  # all due when Slack said to come back
    assert await delivery.flush() == 0  # not yet

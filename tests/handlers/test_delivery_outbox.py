"""The outbox shared by two processes: each stored message goes out once, the newest update wins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SimulatedSlack
from handlers.delivery import SlackDelivery
from handlers.rate_limits import RateLimitCounter, retry_handlers
from handlers.views.message import SlackMessage
from storage.db import Database
from storage.models import MessageRef
from storage.outbox import SUPERSEDED, Outbox
from storage.requests import RequestRepository

CHANNEL = "C0APPROVALS"
# Slack takes about one message a second per channel (bursts of three): twelve stored messages
# go to four channels, three each, so one flush may send them all.
CHANNELS = (CHANNEL, "C0ONE", "C0TWO", "C0THREE")
LEASE = timedelta(minutes=5)


@dataclass
class Process:
    """One bot process's view of the shared database and of Slack."""

    db: Database
    outbox: Outbox
    delivery: SlackDelivery
    client: AsyncWebClient


@pytest.fixture
def slack() -> Iterator[SimulatedSlack]:
    with SimulatedSlack() as simulated:
        for number, channel in enumerate(CHANNELS):
            simulated.add_channel(channel, f"access-{number}")
        yield simulated


@pytest.fixture
async def two(tmp_path: Path, slack: SimulatedSlack) -> AsyncIterator[tuple[Process, Process]]:
    path = tmp_path / "shared.sqlite3"
    processes = []
    for worker in ("host-a", "host-b"):
        db = await Database(path).open()
        outbox = Outbox(db)
        # no retry handlers: one 500 is enough to send a message to the outbox
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        delivery = SlackDelivery(
            client, RequestRepository(db), outbox, db.clock, worker=worker, lease=LEASE
        )
        processes.append(Process(db, outbox, delivery, client))
    yield processes[0], processes[1]
    for process in processes:
        await process.db.close()


def text(n: int | str) -> SlackMessage:
    return SlackMessage(text=f"message {n}")


async def test_two_processes_send_each_stored_message_once(
    two: tuple[Process, Process], slack: SimulatedSlack
) -> None:
    a, b = two
    for n in range(12):
        channel = CHANNELS[n % len(CHANNELS)]
        await a.outbox.add(
            method="chat.postMessage", channel=channel, text=f"message {n}", blocks=[], error="500"
        )
    sent = await asyncio.gather(a.delivery.flush(), b.delivery.flush())
    assert sum(sent) == 12
    for first, channel in enumerate(CHANNELS):
        # each once, in the order stored
        expected = [f"message {n}" for n in range(first, 12, len(CHANNELS))]
        assert [m.text for m in slack.messages(channel)] == expected
    assert len(slack.calls("chat.postMessage")) == 12
    assert await a.outbox.pending() == 0


async def _posted(process: Process) -> MessageRef:
    response = await process.client.chat_postMessage(channel=CHANNEL, text="message v0")
    return MessageRef(request_id="R-1", purpose="approval", channel=CHANNEL, ts=str(response["ts"]))


def _updates_sent(slack: SimulatedSlack) -> list[str]:
    return [str(c.args.get("text")) for c in slack.calls("chat.update") if c.ok]


async def test_an_older_queued_update_never_overwrites_a_newer_one(
    two: tuple[Process, Process], slack: SimulatedSlack
) -> None:
    a, b = two
    ref = await _posted(a)
    slack.fail_next("chat.update", status=500)
    assert not await a.delivery.update(ref, text("v1"))  # queued: Slack failed it
    # Slack is back: the newer content, from the other process, must be the one that stays
    assert not await b.delivery.update(ref, text("v2"))  # queued behind v1, replacing it
    await asyncio.gather(a.delivery.flush(), b.delivery.flush())
    assert [m.text for m in slack.messages(CHANNEL)] == ["message v2"]
    assert "message v1" not in _updates_sent(slack)
    await a.delivery.flush()
    assert [m.text for m in slack.messages(CHANNEL)] == ["message v2"]


async def test_of_two_queued_updates_only_the_newest_is_sent(
    two: tuple[Process, Process], slack: SimulatedSlack
) -> None:
    a, _ = two
    ref = await _posted(a)
    slack.fail_next("chat.update", status=500)
    for version in ("v1", "v2", "v3"):  # v1 failed; the later ones queue behind it
        assert not await a.delivery.update(ref, text(version))
    assert await a.delivery.flush() == 1
    assert _updates_sent(slack) == ["message v3"]
    async with a.db.conn.execute("SELECT text, state, last_error FROM outbox ORDER BY id") as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    assert rows == [
        ("message v1", "dead", SUPERSEDED),
        ("message v2", "dead", SUPERSEDED),
        ("message v3", "sent", None),
    ]


async def test_an_update_waits_while_an_older_one_is_out(
    two: tuple[Process, Process], slack: SimulatedSlack
) -> None:
    a, b = two
    ref = await _posted(a)
    slack.fail_next("chat.update", status=500)
    await a.delivery.update(ref, text("v1"))
    (out,) = await a.outbox.claim(worker="host-a", lease=LEASE)  # v1 is being sent by A
    await b.delivery.update(ref, text("v2"))
    assert await b.delivery.flush() == 0  # v2 must not land before v1 does
    await a.outbox.sent(out.id)
    assert await b.delivery.flush() == 1
    assert [m.text for m in slack.messages(CHANNEL)] == ["message v2"]


async def test_a_restarted_worker_takes_back_its_own_claims_at_once(
    two: tuple[Process, Process],
) -> None:
    a, b = two
    await a.outbox.add(method="chat.postMessage", channel=CHANNEL, text="x", blocks=[], error="500")
    assert len(await a.outbox.claim(worker="host-a", lease=LEASE)) == 1  # then host-a dies
    assert await b.outbox.claim(worker="host-b", lease=LEASE) == []
    assert await a.outbox.release_claims_of("host-a") == 1
    assert len(await a.outbox.claim(worker="host-a", lease=LEASE)) == 1


async def test_while_slack_asks_chat_update_to_wait_no_update_is_called(
    tmp_path: Path, slack: SimulatedSlack
) -> None:
    """A 429 on chat.update (a workspace-wide tier) holds every update back for its
    Retry-After: they wait in the outbox instead of meeting more 429s, then all go out."""
    db = await Database(tmp_path / "one.sqlite3").open()
    try:
        limits = RateLimitCounter()
        client = AsyncWebClient(
            token=slack.bot_token, base_url=slack.api_url, retry_handlers=retry_handlers(limits)
        )
        outbox = Outbox(db)
        delivery = SlackDelivery(
            client, RequestRepository(db), outbox, db.clock, worker="w", lease=LEASE, limits=limits
        )
        posted = [await delivery.post(channel, text(f"ask {channel}")) for channel in CHANNELS]
        slack.set_rate_limits(enabled=False)
        slack.fail_next("chat.update", status=429, retry_after=1)
        refs = [
            MessageRef(request_id="R-1", purpose="approval", channel=p[0], ts=p[1])
            for p in posted
            if p is not None
        ]
        # The first meets the 429 and waits it out; the others, asked for while it waits, are
        # not sent to Slack but queued until the wait is over.
        first = asyncio.ensure_future(delivery.update(refs[0], text("done 0")))
        while not limits.total:
            await asyncio.sleep(0.01)
        later = [await delivery.update(ref, text(f"done {n}")) for n, ref in enumerate(refs) if n]
        assert later == [False] * (len(refs) - 1)
        assert [c.ok for c in slack.calls("chat.update")] == [False]
        assert await delivery.flush() == 0  # not due before the wait is over
        assert await first  # the client waited out Retry-After, then Slack took it
        await asyncio.sleep(limits.waiting("chat.update"))
        assert await delivery.flush() == len(refs) - 1
        assert len(slack.rate_limited_calls("chat.update")) == 1
        assert sorted(_updates_sent(slack)) == [f"message done {n}" for n in range(len(refs))]
    finally:
        await db.close()

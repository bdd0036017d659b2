"""Delivers the bot's Slack messages; what Slack cannot take now waits in the outbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.channel_turns import ChannelTurns
from handlers.rate_limits import RateLimitCounter
from handlers.views.message import SlackMessage
from storage.db import Clock
from storage.models import MessageRef
from storage.outbox import Outbox, OutboxItem
from storage.requests import RequestRepository

log = logging.getLogger(__name__)

# Slack's answers that say "not now" rather than "never": worth sending again later.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
GIVE_UP_AFTER = timedelta(days=1)
MAX_GAP = timedelta(minutes=30)
OLDER_WAITING = "an older message to the conversation is waiting"
UPDATE = "chat.update"


@dataclass(frozen=True)
class Keep:
    """Remember where a posted message landed, so it can be updated later."""

    request_id: str
    purpose: str
    recipient: str | None = None


# Told where a post kept for one purpose landed (its own store, not the requests' messages).
Landed = Callable[[Keep, str, str], Awaitable[None]]


def _transient(error: Exception) -> str | None:
    """Why sending failed, when trying again later may work; None when it never will."""
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error") or "")
        status = getattr(error.response, "status_code", 200)
        if code in TRANSIENT_ERRORS or status == 429 or status >= 500:
            return code or f"HTTP {status}"
        return None
    if isinstance(error, aiohttp.ClientError | asyncio.TimeoutError | ConnectionError):
        return type(error).__name__
    return None


def _retry_after(error: Exception) -> timedelta | None:
    """The wait a 429 asked for, when it said."""
    if not isinstance(error, SlackApiError) or error.response.status_code != 429:
        return None
    value = (error.response.headers or {}).get("Retry-After")
    try:
        return timedelta(seconds=int(value)) if value is not None else None
    except ValueError:
        return None


class SlackDelivery:
    """chat.postMessage and chat.update, with an outbox behind the client's own retries.

    Slack takes about one message a second per conversation: posts to one conversation go out
    one at a time in the order asked (the client waits out a 429's Retry-After before the
    next), while other conversations go on. A post that still fails waits in the outbox, and
    later posts to its conversation queue behind it there, so none overtakes another.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        repo: RequestRepository,
        outbox: Outbox,
        clock: Clock,
        *,
        worker: str,
        lease: timedelta,
        limits: RateLimitCounter | None = None,
    ) -> None:
        self._client = client
        # What Slack's 429s said: a tier-limited method is not called again before its wait.
        self._limits = limits or RateLimitCounter()
        self._repo = repo
        self._outbox = outbox
        self._clock = clock
        self._worker = worker
        self._lease = lease
        self._turns = ChannelTurns()
        self._landed: dict[str, Landed] = {}

    def remember_with(self, purpose: str, landed: Landed) -> None:
        """Where posts kept as ``purpose`` land goes to ``landed`` (when Slack takes them, now
        or from the outbox after a restart), not to the requests' messages."""
        self._landed[purpose] = landed

    async def restate_queued(self, keep: Keep, message: SlackMessage) -> bool:
        """Give a post kept as ``keep`` that still waits in the outbox this content; False
        when none waits."""
        return await self._outbox.restate_post(
            keep.request_id,
            keep.purpose,
            keep.recipient or "",
            text=message.text,
            blocks=message.blocks,
        )

    async def post(
        self,
        channel: str,
        message: SlackMessage,
        *,
        thread_ts: str | None = None,
        keep: Keep | None = None,
    ) -> tuple[str, str] | None:
        """Post now, after earlier posts to the conversation; (channel, ts) on success, None
        when it was queued or refused."""
        async with self._turns.turn(channel):
            if await self._outbox.has_post_waiting(self._turns.aliases(channel)):
                await self._queue(
                    "chat.postMessage", channel, message, OLDER_WAITING, thread_ts, keep=keep
                )
                return None
            try:
                posted = await self._send_post(channel, message.text, message.blocks, thread_ts)
            except Exception as error:
                await self._queue_or_drop(
                    error, "chat.postMessage", channel, message, thread_ts=thread_ts, keep=keep
                )
                return None
        if keep is not None:
            await self._remember(keep, *posted)
        return posted

    async def update(self, ref: MessageRef, message: SlackMessage) -> bool:
        """Replace a message in place; False when it was queued or refused.

        While an older update of the message waits in the outbox, this one queues behind it
        (and replaces it there): sent now, it would be overwritten when the older one goes out.
        """
        if await self._outbox.has_update_waiting(ref.channel, ref.ts):
            await self._outbox.add(
                method="chat.update",
                channel=ref.channel,
                ts=ref.ts,
                text=message.text,
                blocks=message.blocks,
                error="an older update of the message is waiting",
            )
            return False
        quiet = self._limits.waiting(UPDATE)
        if quiet:
            # Slack asked chat.update (tier 3, per workspace) to wait: calling now only meets
            # another 429. The outbox sends it when the wait is over.
            await self._outbox.add(
                method=UPDATE,
                channel=ref.channel,
                ts=ref.ts,
                text=message.text,
                blocks=message.blocks,
                error="ratelimited",
                due=self._clock() + timedelta(seconds=quiet),
            )
            return False
        try:
            await self._client.chat_update(
                channel=ref.channel, ts=ref.ts, text=message.text, blocks=message.blocks
            )
        except Exception as error:
            await self._queue_or_drop(error, UPDATE, ref.channel, message, ts=ref.ts)
            return False
        return True

    async def flush(self, limit: int = 50) -> int:
        """Send what waits in the outbox (claimed, so once across processes); returns how many
        Slack took. A post that fails holds back the later posts to its conversation."""
        delivered = 0
        held: dict[str, datetime] = {}
        for item in await self._outbox.claim(worker=self._worker, lease=self._lease, limit=limit):
            is_post = item.method != UPDATE
            if is_post and item.channel in held:
                await self._outbox.defer(item.id, held[item.channel])
                continue
            quiet = 0.0 if is_post else self._limits.waiting(UPDATE)
            if quiet:
                await self._outbox.defer(item.id, self._clock() + timedelta(seconds=quiet))
                continue
            try:
                if is_post:
                    async with self._turns.turn(item.channel):
                        await self._resend(item)
                else:
                    await self._resend(item)
            except Exception as error:
                retry_at = await self._failed(item, error)
                if is_post and retry_at is not None:
                    held[item.channel] = retry_at
                continue
            await self._outbox.sent(item.id)
            delivered += 1
        return delivered

    async def _failed(self, item: OutboxItem, error: Exception) -> datetime | None:
        """Give up on ``item``, or store when to try it again (returned)."""
        reason = _transient(error)
        too_old = self._clock() - item.created_at > GIVE_UP_AFTER
        if reason is None or too_old:
            log.error("giving up on a message to %s: %s", item.channel, error)
            await self._outbox.failed(item.id, str(reason or error), None)
            return None
        gap = min(timedelta(seconds=5) * 2 ** min(item.attempts, 12), MAX_GAP)
        retry_at = self._clock() + (_retry_after(error) or gap)
        await self._outbox.failed(item.id, reason, retry_at)
        return retry_at

    async def _resend(self, item: OutboxItem) -> None:
        if item.method == "chat.update" and item.ts:
            await self._client.chat_update(
                channel=item.channel, ts=item.ts, text=item.text, blocks=item.blocks
            )
            return
        posted = await self._send_post(item.channel, item.text, item.blocks, item.thread_ts)
        if item.request_id and item.purpose:
            await self._remember(Keep(item.request_id, item.purpose, item.recipient), *posted)

    async def _send_post(
        self, channel: str, text: str, blocks: list[dict[str, object]], thread_ts: str | None
    ) -> tuple[str, str]:
        response = await self._client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        posted_in = str(response["channel"])
        self._turns.learn(channel, posted_in)
        return posted_in, str(response["ts"])

    async def _remember(self, keep: Keep, channel: str, ts: str) -> None:
        landed = self._landed.get(keep.purpose)
        if landed is not None:
            await landed(keep, channel, ts)
            return
        await self._repo.add_message(
            MessageRef(
                request_id=keep.request_id,
                purpose=keep.purpose,
                channel=channel,
                ts=ts,
                recipient=keep.recipient,
            )
        )

    async def _queue_or_drop(
        self,
        error: Exception,
        method: str,
        channel: str,
        message: SlackMessage,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        keep: Keep | None = None,
    ) -> None:
        reason = _transient(error)
        if reason is None:
            detail = error.response.get("error") if isinstance(error, SlackApiError) else error
            log.warning("Slack refused %s to %s: %s", method, channel, detail)
            return
        log.warning("%s to %s failed (%s); queued to send again", method, channel, reason)
        await self._queue(method, channel, message, reason, thread_ts, ts=ts, keep=keep)

    async def _queue(
        self,
        method: str,
        channel: str,
        message: SlackMessage,
        reason: str,
        thread_ts: str | None,
        *,
        ts: str | None = None,
        keep: Keep | None = None,
    ) -> None:
        await self._outbox.add(
            method=method,
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            error=reason,
            ts=ts,
            thread_ts=thread_ts,
            request_id=keep.request_id if keep else None,
            purpose=keep.purpose if keep else None,
            recipient=keep.recipient if keep else None,
        )

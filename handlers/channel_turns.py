"""Messages to one Slack conversation go out one at a time, in the order they were asked for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ChannelTurns:
    """A first-come, first-served turn per conversation; conversations do not wait on each other.

    A person's id and their IM are one conversation once a post has shown which IM it is.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._holders: dict[str, int] = {}
        self._person_of_im: dict[str, str] = {}
        self._im_of_person: dict[str, str] = {}

    def key(self, channel: str) -> str:
        """The conversation ``channel`` names (an IM counts as the person it is with)."""
        return self._person_of_im.get(channel, channel)

    def learn(self, channel: str, posted_in: str) -> None:
        """A post to ``channel`` landed in ``posted_in`` (a person's id and their IM)."""
        if channel != posted_in:
            self._person_of_im[posted_in] = channel
            self._im_of_person[channel] = posted_in

    def aliases(self, channel: str) -> tuple[str, ...]:
        """Every name the bot has used for the conversation ``channel``."""
        key = self.key(channel)
        im = self._im_of_person.get(key)
        return (key, im) if im else (key,)

    @asynccontextmanager
    async def turn(self, channel: str) -> AsyncIterator[None]:
        """Wait until earlier messages to the conversation are out (asyncio.Lock is FIFO)."""
        key = self.key(channel)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:
                del self._holders[key], self._locks[key]

"""Slack members as ``Person`` models, read with users.info and kept briefly."""

from __future__ import annotations

import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.flows.people import Person

_TTL_SECONDS = 300.0
PAGE_SIZE = 200  # users.list members per page: Slack recommends no more than 200


def person_from_user(user: dict[str, object]) -> Person:
    """Turn a users.info ``user`` object into a Person (missing fields stay empty)."""
    raw_profile = user.get("profile")
    profile: dict[str, object] = raw_profile if isinstance(raw_profile, dict) else {}

    def text(source: dict[str, object], key: str) -> str:
        value = source.get(key)
        return value if isinstance(value, str) else ""

    return Person(
        id=text(user, "id"),
        email=text(profile, "email"),
        real_name=text(profile, "real_name") or text(user, "real_name") or text(user, "name"),
        first_name=text(profile, "first_name"),
        last_name=text(profile, "last_name"),
        tz=text(user, "tz"),
        locale=text(user, "locale"),
        deleted=user.get("deleted") is True,
        is_bot=user.get("is_bot") is True,
    )


class SlackPeople:
    """Looks people up in Slack; a short cache keeps bursts of clicks cheap."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._cache: dict[str, tuple[float, Person]] = {}

    async def get(self, user_id: str, *, fresh: bool = False) -> Person:
        """The member ``user_id``; an unknown id gives a Person with only the id."""
        cached = self._cache.get(user_id)
        if cached and not fresh and time.monotonic() - cached[0] < _TTL_SECONDS:
            return cached[1]
        try:
            response = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError:
            return Person(id=user_id)
        user = response.get("user")
        person = person_from_user(user) if isinstance(user, dict) else Person(id=user_id)
        self._cache[user_id] = (time.monotonic(), person)
        return person

    async def deactivated(self) -> list[Person]:
        """Every member Slack shows as deactivated (bots left out), read page by page.

        users.list is rate limited (tier 2); the client's retry handler waits out a 429's
        ``Retry-After``. A failure raises: a partial list must not pass for the whole one.
        """
        found: list[Person] = []
        # slack_sdk follows response_metadata.next_cursor, re-using one response object.
        async for page in await self._client.users_list(limit=PAGE_SIZE):
            members = page.get("members")
            for user in members if isinstance(members, list) else []:
                if isinstance(user, dict) and user.get("deleted") is True:
                    person = person_from_user(user)
                    if person.id and not person.is_bot:
                        found.append(person)
        return found

    def forget(self, user_id: str) -> None:
        """Drop a cached member (after a user_change event)."""
        self._cache.pop(user_id, None)

"""Slack user groups (``S…``) as sets of member ids, read with usergroups.users.list.

Kept for a minute: a form opened, refilled and submitted asks Slack once, and a member added
to a group can ask for its items a minute later at most.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

_TTL_SECONDS = 60.0


class SlackUserGroups:
    """Members of user groups; a group Slack cannot read counts as empty (nobody gains access)."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = _TTL_SECONDS) -> None:
        self._client = client
        self._ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def members(self, group_id: str) -> frozenset[str]:
        """The member ids of ``group_id`` (empty for a group Slack does not have)."""
        cached = self._cache.get(group_id)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        try:
            response = await self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as error:
            reason = error.response.get("error")
            if reason != "no_such_subteam":
                # Not remembered: the next form asks again.
                log.warning("cannot read user group %s: %s", group_id, reason)
                return frozenset()
            log.warning("the policy names user group %s, which Slack does not have", group_id)
            users: object = []
        else:
            users = response.get("users")
        found = (
            frozenset(u for u in users if isinstance(u, str))
            if isinstance(users, list)
            else frozenset()
        )
        self._cache[group_id] = (time.monotonic(), found)
        return found

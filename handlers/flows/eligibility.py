"""Who may ask for what: an application's or an item's ``requesters``, people and user groups.

Absent ``requesters`` means everyone, as before. Listed, they name Slack members (``U…``) and
user groups (``S…``, every member of the group). Owners and admins get nothing implicitly. A
request made for someone else needs both people listed: the one who asks and the one who would
hold the access.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol, TypeVar

from handlers.flows.choices import NamedChoice, ProfileChoice, RequestChoices
from handlers.flows.drafts import RequestDraft


class GroupMembers(Protocol):
    """Reads who is in a Slack user group."""

    async def members(self, group_id: str) -> frozenset[str]:
        """The member ids of ``group_id``; empty when Slack has no such group."""
        ...


class Eligibility:
    """Answers "may these people ask for an item listed for ``requesters``?" for one request."""

    def __init__(self, people: Collection[str], groups: GroupMembers) -> None:
        self._people = frozenset(people)
        self._groups = groups
        self._known: dict[tuple[str, ...], bool] = {}

    async def allows(self, requesters: tuple[str, ...] | None) -> bool:
        """Whether every one of the people is listed (None lists everyone)."""
        if requesters is None:
            return True
        if requesters not in self._known:
            self._known[requesters] = await self._all_listed(requesters)
        return self._known[requesters]

    async def _all_listed(self, requesters: tuple[str, ...]) -> bool:
        missing = set(self._people) - set(requesters)
        for group in (r for r in requesters if r.startswith("S")):
            if not missing:
                break
            missing -= await self._groups.members(group)
        return not missing


_Item = TypeVar("_Item", ProfileChoice, NamedChoice)


async def _kept(items: Iterable[_Item], may: Eligibility) -> list[_Item]:
    return [item for item in items if await may.allows(item.requesters)]


async def eligible_choices(choices: RequestChoices, may: Eligibility) -> RequestChoices:
    """``choices`` cut to what the people may ask for; nothing at all when not the application.

    A license stays only while one of its profiles does.
    """
    if not await may.allows(choices.requesters):
        return choices.model_copy(
            update={"licenses": (), "profiles": (), "roles": (), "permission_sets": ()}
        )
    profiles = await _kept(choices.profiles, may)
    with_profiles = {p.license for p in profiles}
    return choices.model_copy(
        update={
            "licenses": tuple(lic for lic in choices.licenses if lic.name in with_profiles),
            "profiles": tuple(profiles),
            "roles": tuple(await _kept(choices.roles, may)),
            "permission_sets": tuple(await _kept(choices.permission_sets, may)),
        }
    )


def nothing_to_ask_for(choices: RequestChoices) -> bool:
    """Whether the people may ask for nothing in this application (no profile is theirs)."""
    return not choices.profiles


def refused_picks(
    draft: RequestDraft,
    offered: RequestChoices,
    allowed: RequestChoices,
    title: str,
    *,
    who: str = "You",
) -> dict[str, str]:
    """Field -> message for each pick the application offers but these people may not ask for.

    ``draft`` is read against everything the application offers, so a forged value is still
    named here instead of being dropped as unknown. ``who`` names the people in the messages.
    """
    errors: dict[str, str] = {}
    if nothing_to_ask_for(allowed):
        ask = " Ask its admins to add you." if who == "You" else ""
        errors["profile"] = f"{who} may not request {title} access.{ask}"
        return errors
    profiles_refused = {p.name for p in offered.profiles} - {p.name for p in allowed.profiles}
    if draft.profile in profiles_refused:
        errors["profile"] = f"{who} may not request the {draft.profile} profile."
    if draft.role in {r.name for r in offered.roles} - {r.name for r in allowed.roles}:
        errors["role"] = f"{who} may not request the {draft.role} role."
    allowed_sets = {s.name for s in allowed.permission_sets}
    labels = {s.name: s.label or s.name for s in offered.permission_sets}
    refused = [labels[p] for p in draft.permission_sets if p in labels and p not in allowed_sets]
    if refused:
        errors["permission_sets"] = f"{who} may not request: {', '.join(refused)}."
    return errors

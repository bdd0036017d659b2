"""Whose is an existing Salesforce user: the bot's own, safe to adopt, or an admin's call."""

from __future__ import annotations

from datetime import timedelta

from salesforce.models import Catalog, UserState
from storage.models import Baseline, ManagedOrigin, ManagedUser

ADOPTION_PROBLEM = "existing_user"
# Salesforce's clock and ours may differ a little; a create the bot sent is recognised by a
# CreatedDate no earlier than this before the bot recorded sending it.
CLOCK_SKEW = timedelta(minutes=2)


def owned_by_bot(user: ManagedUser, found: UserState, bot_user_id: str) -> bool:
    """The user is one the bot created (perhaps by a call whose answer was lost).

    Created by the integration user, and no earlier than the bot first sent its create.
    """
    if user.origin is ManagedOrigin.CREATED and user.sf_user_id == found.id:
        return True
    if user.origin is not ManagedOrigin.PENDING or user.create_sent_at is None:
        return False
    if found.created_by_id is None or found.created_by_id[:15] != bot_user_id[:15]:
        return False
    return found.created_at is not None and found.created_at >= user.create_sent_at - CLOCK_SKEW


def may_adopt(found: UserState, email: str) -> bool:
    """Clearly the same person and nobody else's business: inactive, not frozen, same email."""
    same_email = bool(email) and (found.email or "").strip().casefold() == email.casefold()
    return not found.is_active and not found.frozen and same_email


def baseline_of(found: UserState) -> Baseline:
    """The user as it is now: what it goes back to when the bot's last grant on it ends."""
    return Baseline(
        is_active=found.is_active,
        frozen=found.frozen,
        profile_id=found.profile_id,
        role_id=found.role_id,
        assignments=tuple(sorted(found.assignments)),
    )


def _name(catalog: Catalog | None, record_id: str | None) -> str:
    if not record_id:
        return "none"
    if catalog is None:
        return record_id
    names = {p.id: p.name for p in catalog.profiles}
    names.update((r.id, r.name) for r in catalog.roles)
    names.update((p.id, p.name) for p in catalog.permission_sets)
    names.update((g.id, g.developer_name) for g in catalog.permission_set_groups)
    return names.get(record_id, record_id)


def describe_user(found: UserState, email: str, catalog: Catalog | None = None) -> str:
    """Why an existing user needs an admin's decision, and the user as it is now."""
    reasons = []
    if found.is_active:
        reasons.append("it is active")
    if found.frozen:
        reasons.append("someone froze it")
    if not email or (found.email or "").strip().casefold() != email.casefold():
        reasons.append(f"its email ({found.email or 'none'}) is not the requester's ({email})")
    why = "; ".join(reasons) or "it was not made by the bot"
    sets = ", ".join(sorted(_name(catalog, i) for i in found.assignments)) or "none"
    return (
        f"The username {found.username} already belongs to a user in this org, and the bot "
        f"will not take it over by itself: {why}.\n"
        f"As it is now: {'active' if found.is_active else 'inactive'}, "
        f"{'frozen' if found.frozen else 'not frozen'}; "
        f"profile {_name(catalog, found.profile_id)}; role {_name(catalog, found.role_id)}; "
        f"permission sets {sets}."
    )

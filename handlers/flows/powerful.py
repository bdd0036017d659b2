"""Records Slack must not offer: the bot's own access and anything that hands over the org.

Making such a record requestable is a choice for whoever edits the policy file (shell access
to the bot), never a button: one click would let any approved request take the whole org.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from handlers.flows.ports import SalesforceGateway
from salesforce.errors import SalesforceError
from salesforce.models import Catalog, GrantKind, Power

# Catalog kind (as the Home tab names it) -> the Salesforce record that carries permissions.
GRANT_KINDS: dict[str, GrantKind] = {
    "profiles": GrantKind.PROFILE,
    "permission_sets": GrantKind.PERMISSION_SET,
    "groups": GrantKind.GROUP,
}
INTEGRATION_USER = "integration_user"
UNCHECKED = "unchecked"
_HOW = "Only the policy file can offer it: ask whoever runs the bot to list it there."


class TooPowerful(BaseModel):
    """Why a record may not be made requestable from Slack; ``reasons`` go to the audit log."""

    model_config = ConfigDict(frozen=True)

    why: str
    reasons: tuple[str, ...]


def _record_id(catalog: Catalog, kind: GrantKind, name: str) -> str | None:
    if kind is GrantKind.PROFILE:
        profile = catalog.profile_named(name)
        return profile.id if profile else None
    if kind is GrantKind.PERMISSION_SET:
        ps = catalog.permission_set_named(name)
        return ps.id if ps else None
    group = catalog.group_named(name)
    return group.id if group else None


def _listing(powers: tuple[Power, ...]) -> str:
    labels = [p.label for p in powers]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


async def too_powerful(
    gateway: SalesforceGateway, catalog: Catalog, *, kind: str, name: str, title: str
) -> TooPowerful | None:
    """Why ``name`` must stay off the request form unless the policy file lists it; None if fine."""
    grant_kind = GRANT_KINDS.get(kind)
    record_id = _record_id(catalog, grant_kind, name) if grant_kind else None
    if grant_kind is None or record_id is None:
        return None
    try:
        # Read now, not from the cached catalog: a set may have gained a permission since.
        found = await gateway.record_powers(grant_kind, record_id)
    except SalesforceError:
        return TooPowerful(
            why=f"Salesforce could not be asked what {title} grants, so it stays not offered. "
            "Try again in a minute.",
            reasons=(UNCHECKED,),
        )
    if found.integration_user_holds:
        return TooPowerful(
            why=f"{title} can't be made requestable from Slack: the bot signs in to Salesforce "
            f"with it, so whoever got it would hold the bot's own access. {_HOW}",
            reasons=(INTEGRATION_USER, *found.powers),
        )
    if found.powers:
        return TooPowerful(
            why=f"{title} can't be made requestable from Slack: it grants "
            f"{_listing(found.powers)}, enough to take over the whole Salesforce org. {_HOW}",
            reasons=tuple(found.powers),
        )
    return None

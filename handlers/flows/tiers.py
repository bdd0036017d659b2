"""A request's risk tier: the highest tier of what it asks for, and the longest it may last."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from handlers.approval_rules import Tier, highest
from handlers.durations import duration_label
from handlers.flows.choices import RequestChoices
from handlers.flows.drafts import RequestDraft
from handlers.flows.ports import SalesforceGateway
from handlers.policy import Application
from salesforce.errors import SalesforceError
from salesforce.models import Catalog, GrantKind

GROUP_PREFIX = "group:"


class TierVerdict(BaseModel):
    """The tier of one request and, when an org-wide power made it high, which sets did."""

    model_config = ConfigDict(frozen=True)

    tier: Tier
    powerful: tuple[str, ...] = ()


def listed_tier(draft: RequestDraft, choices: RequestChoices) -> Tier:
    """The highest tier the policy gives the draft's profile, role and permission sets."""
    tiers = [p.tier for p in choices.profiles if p.name == draft.profile]
    tiers += [r.tier for r in choices.roles if r.name == draft.role]
    tiers += [s.tier for s in choices.permission_sets if s.name in draft.permission_sets]
    return highest(tiers)


def _record(catalog: Catalog, name: str) -> tuple[GrantKind, str] | None:
    if name.startswith(GROUP_PREFIX):
        group = catalog.group_named(name.removeprefix(GROUP_PREFIX))
        return (GrantKind.GROUP, group.id) if group else None
    ps = catalog.permission_set_named(name)
    return (GrantKind.PERMISSION_SET, ps.id) if ps else None


async def request_tier(
    app: Application,
    draft: RequestDraft,
    choices: RequestChoices,
    *,
    catalog: Catalog,
    gateway: SalesforceGateway,
) -> TierVerdict:
    """The draft's tier; with ``high_if_powerful``, the org's PermissionSet flags are read now."""
    tier = listed_tier(draft, choices)
    if not app.high_if_powerful or tier is Tier.HIGH:
        return TierVerdict(tier=tier)
    records = {name: _record(catalog, name) for name in draft.permission_sets}
    known = [record for record in records.values() if record is not None]
    try:
        # One read for all of the request's sets and groups, however many it asks for.
        found = await gateway.grant_powers(known) if known else {}
    except SalesforceError:
        found = None  # unknown powers count as powerful: the safe side
    powerful: list[str] = []
    for name, record in records.items():
        if record is None:
            continue
        if found is None:
            powerful.append(name)
            continue
        read = found.get(record[1])  # none when gone from the org: nothing to hand over
        if read is not None and (read.powers or read.customizes_application):
            powerful.append(name)
    return (
        TierVerdict(tier=Tier.HIGH, powerful=tuple(powerful))
        if powerful
        else TierVerdict(tier=tier)
    )


def duration_error(app: Application, tier: Tier, duration: timedelta | None) -> str | None:
    """Why ``duration`` is too long for a request of ``tier``, or None when it fits."""
    cap = app.rule_for(tier).max_duration
    if cap is None or (duration is not None and duration <= cap):
        return None
    return (
        f"{tier.value.capitalize()}-risk access lasts at most {duration_label(cap)}: "
        "choose a shorter duration."
    )

"""The desired state of a managed user: a pure function of its baseline and its active grants.

- With grants: active, not frozen; the profile and role of the newest grant (it supersedes the
  older ones); the union of every grant's permission sets and groups and the baseline's.
- Without grants: a user the bot created is deactivated; an adopted user goes back to its
  baseline (active or not, frozen or not, its profile, role and assignments).
- The bot removes only what it added: ``difference`` removes an assignment only when the bot
  made it (or made the whole user and no grant is left).
- Ends: an assignment only time-bound grants give ends with the latest of them; one a
  permanent grant (or the baseline) also gives never ends. In an org with assignment
  expiration the assignment carries that end as its ExpirationDate, so Salesforce removes it
  even when the bot is down; ``difference`` moves it when a grant is extended.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from salesforce.expiration import same_moment
from salesforce.models import UserChange, UserState
from storage.models import Baseline, ManagedOrigin


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class GrantAccess(_Frozen):
    """What one grant gives, resolved to Salesforce Ids."""

    grant_id: str
    profile_id: str
    role_id: str | None = None
    assignables: tuple[str, ...] = ()
    since: datetime
    expires_at: datetime | None = None  # None: the grant does not end by itself


class DesiredUser(_Frozen):
    """What Salesforce should show for one managed user."""

    active: bool
    profile_id: str | None = None  # None: leave the profile as it is
    role_id: str | None = None
    set_role: bool = False  # whether UserRoleId must equal ``role_id`` (None clears it)
    frozen: bool | None = None  # None: leave the login as it is
    assignments: frozenset[str] = frozenset()
    profile_grant: str | None = None  # the grant whose profile and role apply
    superseded: tuple[str, ...] = ()  # grants whose profile no longer applies
    # Permission set or group Id -> when it ends (absent: it does not end by itself).
    ends: dict[str, datetime] = Field(default_factory=dict)


def assignment_ends(
    baseline: Baseline | None, grants: Sequence[GrantAccess]
) -> dict[str, datetime]:
    """When each assignment ends: the latest end of the grants giving it, unless a permanent
    grant or the baseline also gives it (then it has no end)."""
    permanent = set(baseline.assignments) if baseline else set[str]()
    ends: dict[str, datetime] = {}
    for grant in grants:
        for assignable in grant.assignables:
            if grant.expires_at is None:
                permanent.add(assignable)
            elif assignable not in ends or ends[assignable] < grant.expires_at:
                ends[assignable] = grant.expires_at
    return {i: end for i, end in ends.items() if i not in permanent}


def desired_state(
    origin: ManagedOrigin, baseline: Baseline | None, grants: Sequence[GrantAccess]
) -> DesiredUser:
    """The state Salesforce should hold for a user with ``grants`` (pure)."""
    base_sets = frozenset(baseline.assignments) if baseline else frozenset[str]()
    if grants:
        newest = max(grants, key=lambda g: (g.since, g.grant_id))
        role = newest.role_id or (baseline.role_id if baseline else None)
        sets = base_sets.union(*(g.assignables for g in grants))
        return DesiredUser(
            active=True,
            profile_id=newest.profile_id,
            role_id=role,
            set_role=True,
            frozen=False,
            assignments=sets,
            profile_grant=newest.grant_id,
            ends=assignment_ends(baseline, grants),
            superseded=tuple(
                g.grant_id
                for g in grants
                if g.grant_id != newest.grant_id and g.profile_id != newest.profile_id
            ),
        )
    if origin is ManagedOrigin.ADOPTED and baseline is not None:
        return DesiredUser(
            active=baseline.is_active,
            profile_id=baseline.profile_id,
            role_id=baseline.role_id,
            set_role=True,
            frozen=baseline.frozen,
            assignments=base_sets,
        )
    return DesiredUser(active=False)


def removable(
    origin: ManagedOrigin,
    added: frozenset[str],
    baseline: Baseline | None,
    desired: DesiredUser,
    held: frozenset[str],
) -> frozenset[str]:
    """Assignments the bot may take away: its own; all of a user it made once no grant is left."""
    if origin is not ManagedOrigin.ADOPTED and not desired.active:
        return held
    own = added - (frozenset(baseline.assignments) if baseline else frozenset())
    return own & held


def difference(
    actual: UserState,
    desired: DesiredUser,
    may_remove: frozenset[str],
    extra_fields: dict[str, str | int | bool] | None = None,
    *,
    now: datetime | None = None,
) -> UserChange:
    """The smallest change that takes ``actual`` to ``desired`` (empty when it is there).

    An assignment whose end has passed (``now``) is not given again: Salesforce may have
    removed it already, and the grant's expiry is under way. When ``actual`` was read with
    its ExpirationDates (the org has them), new assignments get their end and the bot's own
    assignments whose end changed (an extension, a permanent grant) have it moved.
    """
    fields: dict[str, str | int | bool | None] = {}
    if actual.is_active != desired.active:
        fields["IsActive"] = desired.active
    if desired.profile_id and actual.profile_id != desired.profile_id:
        fields["ProfileId"] = desired.profile_id
    if desired.set_role and actual.role_id != desired.role_id:
        fields["UserRoleId"] = desired.role_id
    if fields and desired.active and extra_fields:
        # Validation rules run on updates too; send the static fields they may need.
        fields = {**extra_fields, **fields}
    frozen = None
    if desired.frozen is not None and actual.frozen != desired.frozen and actual.login_id:
        frozen = desired.frozen
    held = frozenset(actual.assignments)
    ended = {i for i, end in desired.ends.items() if now is not None and end <= now}
    assign = tuple(sorted(desired.assignments - held - ended)) if desired.active else ()
    remove = tuple(
        actual.assignments[i] for i in sorted(held - desired.assignments) if i in may_remove
    )
    expires: dict[str, datetime] = {}
    reexpire: dict[str, datetime | None] = {}
    if actual.expirations is not None and desired.active:
        expires = {i: desired.ends[i] for i in assign if i in desired.ends}
        for i in sorted((held & desired.assignments & may_remove) - ended):
            wanted = desired.ends.get(i)
            if not same_moment(wanted, actual.expirations.get(i)):
                reexpire[actual.assignments[i]] = wanted
    return UserChange(
        user_id=actual.id,
        fields=fields,
        frozen=frozen,
        login_id=actual.login_id,
        assign=assign,
        remove=remove,
        expires=expires,
        reexpire=reexpire,
    )


class RevocationEffect(_Frozen):
    """What ending one grant does in Salesforce, in words a person reads."""

    deactivates: bool = False
    restores: bool = False
    removes: tuple[str, ...] = ()  # permission set (group) names no other grant gives

    def sentence(self, label: Callable[[str], str] = str) -> str:
        """One sentence: what will happen to the Salesforce user (``label`` names the sets)."""
        if self.deactivates:
            return "The Salesforce user is deactivated."
        if self.restores:
            return "The Salesforce user goes back to how it was before the bot changed it."
        if self.removes:
            names = ", ".join(label(n) for n in self.removes)
            return f"{names} is removed; the rest of the access stays."
        return "Other access keeps the Salesforce user as it is."


def effect_of_revoking(
    grant_sets: Sequence[str], others: Sequence[Sequence[str]], origin: ManagedOrigin | None
) -> RevocationEffect:
    """The effect of ending a grant whose user keeps ``others`` (pure)."""
    if not others:
        if origin is ManagedOrigin.ADOPTED:
            return RevocationEffect(restores=True)
        return RevocationEffect(deactivates=True)
    kept = {name for sets in others for name in sets}
    return RevocationEffect(removes=tuple(n for n in grant_sets if n not in kept))

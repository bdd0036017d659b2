"""Daily reconciliation: the org's active users of managed profiles against the bot's grants.

Three kinds of drift are found: users the bot revoked who are active again, grants whose user
was deactivated by hand, and active users nobody granted. Nothing changes unless the
application's policy sets ``auto_revoke_drift``.
"""

from __future__ import annotations

from collections import defaultdict

from handlers.flows.lifecycle import Drift, DriftKind, DriftReport
from handlers.flows.ports import SalesforceGateway
from handlers.flows.revoke import RevokeSource, request_revocation
from handlers.policy import Application, Policy
from salesforce.errors import SalesforceError
from salesforce.models import Catalog, Deactivated, DeactivationOutcome, SalesforceUser
from storage.due import DueWork
from storage.models import AccessRequest, State
from storage.requests import RequestRepository

# Grants that hold the user, or may make it active any moment: never drift.
HOLDING = (State.ACTIVE, State.APPROVED, State.PROVISIONING, State.NEEDS_ADMIN)
DEACTIVATED_REASON = "The Salesforce user was deactivated outside the bot."


def managed_profiles(app: Application, catalog: Catalog) -> set[str]:
    """Ids of the profiles ``app`` hands out."""
    return {p.id for name in app.profiles if (p := catalog.profile_named(name)) is not None}


async def reconcile(
    repo: RequestRepository,
    due: DueWork,
    gateway: SalesforceGateway,
    catalog: Catalog,
    policy: Policy,
) -> list[DriftReport]:
    """Compare, correct where the policy allows it, audit, and report per application."""
    profiles = {app.name: managed_profiles(app, catalog) for app in policy.applications}
    users = await gateway.active_users(sorted(set().union(*profiles.values())))
    by_id = {u.id: u for u in users}
    grants: dict[str, list[AccessRequest]] = defaultdict(list)
    for grant in await due.grants_of_users(by_id):
        if grant.sf_user_id:
            grants[grant.sf_user_id].append(grant)
    # A user being created right now has no Id on its grant yet: know it by its address.
    expected = {
        name.casefold()
        for g in await due.grants_in(HOLDING)
        for name in (g.subject_email, g.sf_username or "", g.username_override or "")
        if name
    }
    found: dict[str, list[Drift]] = defaultdict(list)
    for user in users:
        drift = _user_drift(user, grants[user.id], expected, policy, profiles)
        if drift is not None:
            found[drift.application].append(drift)
    for app in policy.applications:
        for grant in await due.grants_in((State.ACTIVE,), application=app.name):
            if grant.sf_user_id and grant.sf_user_id not in by_id:
                gone = await _deactivated(gateway, grant.sf_user_id)
                if gone is not None:
                    found[app.name].append(gone_drift(grant, gone))
    reports: list[DriftReport] = []
    for app in policy.applications:
        drifts = found[app.name]
        if app.auto_revoke_drift and drifts:
            drifts = await correct(repo, gateway, drifts)
        report = DriftReport(
            application=app.name,
            checked_users=sum(1 for u in users if u.profile_id in profiles[app.name]),
            drifts=tuple(drifts),
        )
        await repo.audit.append(
            request_id=None,
            actor="bot",
            action="reconciled",
            detail={
                "application": app.name,
                "checked_users": report.checked_users,
                **{kind.value: len(report.of_kind(kind)) for kind in DriftKind},
                "fixed": sum(1 for d in drifts if d.fixed),
            },
        )
        reports.append(report)
    return reports


async def not_granted(
    due: DueWork, gateway: SalesforceGateway, catalog: Catalog, policy: Policy, application: str
) -> list[SalesforceUser]:
    """Active users of ``application``'s profiles that no grant explains (for a review)."""
    profiles = {app.name: managed_profiles(app, catalog) for app in policy.applications}
    users = await gateway.active_users(sorted(profiles.get(application, set())))
    grants: dict[str, list[AccessRequest]] = defaultdict(list)
    for grant in await due.grants_of_users([u.id for u in users]):
        if grant.sf_user_id:
            grants[grant.sf_user_id].append(grant)
    expected = {
        name.casefold()
        for g in await due.grants_in(HOLDING)
        for name in (g.subject_email, g.sf_username or "", g.username_override or "")
        if name
    }
    found = []
    for user in users:
        drift = _user_drift(user, grants[user.id], expected, policy, profiles)
        if drift is not None and drift.kind is DriftKind.NOT_GRANTED:
            found.append(user)
    return found


def _user_drift(
    user: SalesforceUser,
    grants: list[AccessRequest],
    expected: set[str],
    policy: Policy,
    profiles: dict[str, set[str]],
) -> Drift | None:
    if any(g.state in HOLDING for g in grants):
        return None
    if user.username.casefold() in expected or (user.email or "").casefold() in expected:
        return None
    revoked = next((g for g in grants if g.state is State.REVOKED), None)
    if revoked is not None:
        return Drift(
            kind=DriftKind.ACTIVE_AGAIN,
            application=revoked.application,
            user_id=user.id,
            username=user.username,
            grant_id=revoked.id,
            subject_id=revoked.subject_id,
        )
    # A profile shared by several applications is reported once, under the first.
    app = next(a for a in policy.applications if user.profile_id in profiles[a.name])
    return Drift(
        kind=DriftKind.NOT_GRANTED, application=app.name, user_id=user.id, username=user.username
    )


async def _deactivated(gateway: SalesforceGateway, user_id: str) -> SalesforceUser | None:
    """The user when it is inactive (or gone: a stub); None when it is active after all."""
    user = await gateway.get_user(user_id)
    if user is None:
        return SalesforceUser(id=user_id, username="", is_active=False)
    return None if user.is_active else user


def gone_drift(grant: AccessRequest, user: SalesforceUser) -> Drift:
    """An active grant whose Salesforce user is inactive."""
    return Drift(
        kind=DriftKind.DEACTIVATED_BY_HAND,
        application=grant.application,
        user_id=user.id,
        username=user.username or grant.sf_username or "",
        grant_id=grant.id,
        subject_id=grant.subject_id,
    )


async def correct(
    repo: RequestRepository, gateway: SalesforceGateway, drifts: list[Drift]
) -> list[Drift]:
    """Deactivate users the bot revoked who came back (one bulk call); close grants of gone users.

    Users nobody granted are only reported: they may predate the bot or be service accounts
    (the integration user among them), so switching them off takes a person's decision.
    """
    fixed: list[Drift] = []
    to_deactivate = [d for d in drifts if d.kind is DriftKind.ACTIVE_AGAIN]
    outcomes: dict[str, DeactivationOutcome] = {}
    if to_deactivate:
        try:
            outcomes = await gateway.deactivate_many([d.user_id for d in to_deactivate])
        except SalesforceError as error:
            await repo.audit.append(
                request_id=None,
                actor="bot",
                action="drift_correction_failed",
                detail={"error": type(error).__name__, "salesforce": error.raw_message},
            )
    for drift in drifts:
        if drift.kind is DriftKind.NOT_GRANTED:
            fixed.append(drift)
            continue
        if drift.kind is DriftKind.DEACTIVATED_BY_HAND:
            done = await _close_grant(repo, drift)
        else:
            done = isinstance(outcomes.get(drift.user_id), Deactivated)
            await repo.audit.append(
                request_id=drift.grant_id,
                actor="bot",
                action="drift_deactivated" if done else "drift_deactivation_failed",
                detail={"kind": drift.kind.value, "user_id": drift.user_id},
            )
        fixed.append(drift.model_copy(update={"fixed": done}))
    return fixed


async def _close_grant(repo: RequestRepository, drift: Drift) -> bool:
    """Open the grant's revocation; the worker finds the user inactive and closes the grant."""
    grant = await repo.get(drift.grant_id) if drift.grant_id else None
    if grant is None:
        return False
    opened = await request_revocation(
        repo, grant, actor="bot", source=RevokeSource.RECONCILIATION, reason=DEACTIVATED_REASON
    )
    return isinstance(opened, AccessRequest)

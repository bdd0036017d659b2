"""A member left Slack: every grant of theirs ends without approval, Salesforce users in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from handlers.flows.outcomes import (
    NeedsAdmin,
    Refused,
    RevocationBlocked,
    RevokedAccess,
    Skipped,
    WillRetry,
)
from handlers.flows.ports import SalesforceGateway
from handlers.flows.revoke import (
    CANCELLABLE,
    RevokeSource,
    finish_revocation,
    record_deactivation,
    request_revocation,
    revocation_failed,
    start_revocation,
)
from handlers.policy import Policy
from salesforce.errors import SalesforceError, UnknownSalesforceError
from storage.models import AccessRequest, Kind, State
from storage.requests import RequestRepository

OFFBOARDING_REASON = "Their Slack account was deactivated."

RevocationOutcome = RevokedAccess | RevocationBlocked | WillRetry | NeedsAdmin | Skipped


class OffboardedGrant(BaseModel):
    """One revocation opened (or found open) for the person, and how it ended this time."""

    model_config = ConfigDict(frozen=True)

    revocation: AccessRequest
    outcome: RevocationOutcome


class Offboarding(BaseModel):
    """What leaving Slack did to a person's Salesforce access."""

    model_config = ConfigDict(frozen=True)

    subject_id: str
    revoked: tuple[OffboardedGrant, ...] = ()
    cancelled: tuple[AccessRequest, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the person held nothing the bot manages."""
        return not self.revoked and not self.cancelled


async def offboard(
    repo: RequestRepository,
    gateway: SalesforceGateway,
    policy: Policy,
    *,
    subject_id: str,
    worker: str,
    lease: timedelta = timedelta(minutes=5),
) -> Offboarding:
    """Revoke every active grant of ``subject_id`` and cancel the pending ones; idempotent."""
    grants = await repo.find(
        states=(State.ACTIVE, *CANCELLABLE), kind=Kind.GRANT, subject_id=subject_id
    )
    cancelled: list[AccessRequest] = []
    opened: list[AccessRequest] = []
    for grant in grants:
        result = await request_revocation(
            repo,
            grant,
            actor="bot",
            source=RevokeSource.OFFBOARDING,
            reason=OFFBOARDING_REASON,
        )
        if isinstance(result, Refused):
            continue
        (opened if result.kind is Kind.REVOKE else cancelled).append(result)
    claimed: list[AccessRequest] = []
    results: list[OffboardedGrant] = []
    for revocation in opened:
        # A blocked one already has the admins' attention; only fresh or waiting ones run now.
        mine = None
        if revocation.state is State.REQUESTED:
            mine = await start_revocation(repo, revocation, worker=worker, lease=lease)
        if mine is None:
            why = f"already {revocation.state.value}"
            skipped = Skipped(request_id=revocation.id, why=why)
            results.append(OffboardedGrant(revocation=revocation, outcome=skipped))
        else:
            claimed.append(mine)
    results.extend(await _deactivate_all(repo, gateway, policy, claimed))
    return Offboarding(subject_id=subject_id, revoked=tuple(results), cancelled=tuple(cancelled))


async def _deactivate_all(
    repo: RequestRepository,
    gateway: SalesforceGateway,
    policy: Policy,
    claimed: Sequence[AccessRequest],
) -> list[OffboardedGrant]:
    """One sObject Collections round for every Salesforce user; each revocation records its part."""
    results = [
        OffboardedGrant(revocation=r, outcome=await finish_revocation(repo, r, None))
        for r in claimed
        if not r.sf_user_id
    ]
    with_user = [r for r in claimed if r.sf_user_id]
    if not with_user:
        return results
    try:
        outcomes = await gateway.deactivate_many([r.sf_user_id or "" for r in with_user])
    except SalesforceError as error:
        for r in with_user:
            failed = await revocation_failed(repo, policy, r, error)
            results.append(OffboardedGrant(revocation=r, outcome=failed))
        return results
    for r in with_user:
        answer = outcomes.get(r.sf_user_id or "")
        outcome: RevocationOutcome
        if answer is None:
            missing = UnknownSalesforceError("Salesforce gave no answer for this user.")
            outcome = await revocation_failed(repo, policy, r, missing)
        else:
            outcome = await record_deactivation(repo, r, answer)
        results.append(OffboardedGrant(revocation=r, outcome=outcome))
    return results

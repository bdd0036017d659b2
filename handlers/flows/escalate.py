"""An admin stepping in: retry, complete a request, choose another username, confirm a fix.

Only the application's admins may act, every press is audited (refusals included), and each
fix is one compare-and-set that puts the request back where the worker or the owners pick it
up, so a restart between the press and the Salesforce call loses nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from handlers.durations import audit_duration
from handlers.flows.admin_conflicts import own_request, who_can_help
from handlers.flows.approval_scope import CHANGED_AFTER_APPROVAL, ScopeChange, scope_change
from handlers.flows.choices import RequestChoices
from handlers.flows.converge import close_revocation
from handlers.flows.drafts import RequestDraft, check_draft, missing_for_provisioning
from handlers.flows.outcomes import RefusalReason, Refused, Rejected, RevokedAccess, Skipped
from handlers.flows.ownership import ADOPTION_PROBLEM, baseline_of
from handlers.flows.ports import SalesforceGateway
from handlers.flows.provision import ProvisioningConfig, suggest_username, username_for
from handlers.flows.tiers import TierVerdict, duration_error, listed_tier
from handlers.policy import Application, Policy
from salesforce.models import SalesforceUser
from storage.models import AccessRequest, Kind, State
from storage.requests import RequestRepository


class Resumed(BaseModel):
    """An admin's fix went through: the request waits for the owners or the worker again."""

    model_config = ConfigDict(frozen=True)

    request: AccessRequest
    by: str
    change: ScopeChange | None = None  # set when an approved request goes back to the owners
    approved_by: str | None = None  # whose approval no longer counts

    @property
    def to_owners(self) -> bool:
        """True when the request goes to the owners for approval (it was never approved)."""
        return self.request.state is State.PENDING_APPROVAL


class StillActive(BaseModel):
    """ "Resolved in Salesforce" was pressed, but Salesforce still shows the user as active."""

    model_config = ConfigDict(frozen=True)

    revocation: AccessRequest
    user: SalesforceUser


def application_of(policy: Policy, request: AccessRequest) -> Application:
    """The application whose admins handle ``request`` (the default one if it left the policy)."""
    return policy.application(request.application) or policy.default_application


def was_approved(request: AccessRequest) -> bool:
    """Whether an owner approved ``request`` before it needed an admin."""
    return request.kind is Kind.GRANT and request.decided_by is not None


async def check_admin_press(
    repo: RequestRepository,
    policy: Policy,
    *,
    request_id: str,
    actor: str,
    button: str,
    states: Collection[State],
    kind: Kind | None = None,
) -> AccessRequest | Refused:
    """The request an escalation button names, if ``actor`` may press it now; refusals audited."""
    request = await repo.get(request_id) if request_id else None
    if request is None or (kind is not None and request.kind is not kind):
        return Refused(reason=RefusalReason.NOT_FOUND)
    refused = None
    app = application_of(policy, request)
    if not app.is_admin(actor):
        refused = Refused(reason=RefusalReason.NOT_ADMIN, request=request)
    elif own_request(request, actor):
        helpers = who_can_help(policy, app, request)
        refused = Refused(reason=RefusalReason.OWN_ESCALATION, request=request, helpers=helpers)
    elif request.state not in states:
        refused = Refused(reason=RefusalReason.NOTHING_TO_DO, request=request)
    if refused is None:
        return request
    await repo.audit.append(
        request_id=request.id,
        actor=actor,
        action="escalation_refused",
        detail={"button": button, "why": refused.reason.value, "state": request.state.value},
    )
    return refused


async def _resume(
    repo: RequestRepository,
    request: AccessRequest,
    actor: str,
    *,
    to: State,
    action: str,
    changes: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
) -> Resumed | Refused:
    """One compare-and-set back into the lifecycle, with a fresh retry budget."""
    fresh: dict[str, Any] = {"attempts": 0, "claimed_by": None, "claimed_until": None}
    if to in (State.APPROVED, State.REQUESTED):
        fresh["next_attempt_at"] = repo.clock()  # due now: a tick picks it up if nothing else does
    if to is State.PENDING_APPROVAL:
        # The owners' time to decide (reminders, then expiry) starts again now, from the first
        # approval stage: approvals given before the change no longer count. (Cleared while
        # the request is not pending, so no new approval can be lost.)
        fresh.update(
            pending_since=repo.clock(), next_attempt_at=None, reminders_sent=0, approval_stage=0
        )
        await repo.votes.clear(request.id)
    moved = await repo.transition(
        request.id,
        expected=request.state,
        to=to,
        actor=actor,
        action=action,
        changes={**fresh, **(changes or {})},
        detail=detail,
    )
    if moved is None:
        # Another admin (or the worker) moved it first: say what it is now.
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=await repo.get(request.id))
    return Resumed(request=moved, by=actor)


async def retry(
    repo: RequestRepository,
    policy: Policy,
    *,
    request_id: str,
    actor: str,
    button: str = "retry",
) -> Resumed | Refused:
    """Run the Salesforce step again: provisioning of a grant, or a blocked deactivation."""
    found = await check_admin_press(
        repo,
        policy,
        request_id=request_id,
        actor=actor,
        button=button,
        states=(State.NEEDS_ADMIN, State.BLOCKED),
    )
    if isinstance(found, Refused):
        return found
    if found.kind is Kind.REVOKE:
        return await _resume(
            repo, found, actor, to=State.REQUESTED, action="deactivation_retry_requested"
        )
    app = application_of(policy, found)
    if missing_for_provisioning(
        found.license, found.profile, found.role, require_role=app.require_role
    ):
        # Retrying cannot fill in what is missing; "Complete request" can.
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=found)
    to = State.APPROVED if was_approved(found) else State.PENDING_APPROVAL
    return await _resume(repo, found, actor, to=to, action="retry_requested")


def _detail_value(value: object) -> object:
    """A request field as an audit row records it (JSON: lists, ISO 8601 durations)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, timedelta):
        return audit_duration(value)
    return value


async def complete_request(
    repo: RequestRepository,
    policy: Policy,
    choices: RequestChoices,
    *,
    request_id: str,
    actor: str,
    draft: RequestDraft,
    verdict: TierVerdict | None = None,
) -> Resumed | Rejected | Refused:
    """Store what the admin filled in; the request goes on to approval, or to provisioning.

    ``verdict`` is the changed request's tier as ``tiers.request_tier`` computes it at
    submission (the org's flags read afresh); without one, the policy's listed tiers decide.
    """
    found = await check_admin_press(
        repo,
        policy,
        request_id=request_id,
        actor=actor,
        button="complete_request",
        states=(State.NEEDS_ADMIN,),
        kind=Kind.GRANT,
    )
    if isinstance(found, Refused):
        return found
    errors = check_draft(draft, choices)
    # The changed request is what the owners approve: its tier is computed as at submission.
    verdict = verdict or TierVerdict(tier=listed_tier(draft, choices))
    tier = verdict.tier
    too_long = duration_error(application_of(policy, found), tier, draft.duration)
    if too_long and "duration" not in errors:
        errors["duration"] = too_long
    if errors:
        return Rejected(errors=errors)
    fields: dict[str, Any] = {
        "license": draft.license,
        "profile": draft.profile,
        "role": draft.role,
        "permission_sets": draft.permission_sets,
        "duration": draft.duration,
        "reason": (draft.reason or "").strip(),
    }
    before = {name: getattr(found, name) for name in fields}
    detail: dict[str, Any] = {
        "before": {k: _detail_value(v) for k, v in before.items()},
        "after": {k: _detail_value(v) for k, v in fields.items()},
        "tier": tier.value,
    }
    if verdict.powerful:
        detail["powerful"] = list(verdict.powerful)
    if not was_approved(found):
        return await _resume(
            repo,
            found,
            actor,
            to=State.PENDING_APPROVAL,
            action="completed",
            changes={**fields, "tier": tier.value},
            detail=detail,
        )
    change = scope_change(
        found,
        license=draft.license,
        profile=draft.profile,
        role=draft.role,
        permission_sets=draft.permission_sets,
        duration=draft.duration,
    )
    if not change.needs_approval:
        return await _resume(
            repo,
            found,
            actor,
            to=State.APPROVED,
            action="completed",
            changes={**fields, "tier": tier.value},
            detail=detail,
        )
    # More or other access than the owner approved: that approval no longer counts.
    again = {"decided_by": None, "decided_at": None, "decision_note": None}
    resumed = await _resume(
        repo,
        found,
        actor,
        to=State.PENDING_APPROVAL,
        action=CHANGED_AFTER_APPROVAL,
        changes={**fields, **again, "tier": tier.value},
        detail={**detail, "approved_by": found.decided_by, "change": change.model_dump()},
    )
    if isinstance(resumed, Refused):
        return resumed
    return resumed.model_copy(update={"change": change, "approved_by": found.decided_by})


def username_suggestion(request: AccessRequest, cfg: ProvisioningConfig) -> tuple[str, str]:
    """The username Salesforce refused for ``request`` and an alternative to offer."""
    taken = username_for(request, cfg.username_suffix)
    return taken, suggest_username(taken)


async def use_username(
    repo: RequestRepository,
    policy: Policy,
    *,
    request_id: str,
    actor: str,
    username: str,
) -> Resumed | Refused:
    """Provision with ``username`` instead of the one taken in another org."""
    found = await check_admin_press(
        repo,
        policy,
        request_id=request_id,
        actor=actor,
        button="alternative_username",
        states=(State.NEEDS_ADMIN,),
        kind=Kind.GRANT,
    )
    if isinstance(found, Refused):
        return found
    if not was_approved(found):
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=found)
    return await _resume(
        repo,
        found,
        actor,
        to=State.APPROVED,
        action="username_chosen",
        changes={"username_override": username},
        detail={"username": username, "before": found.username_override},
    )


async def adopt_existing(
    repo: RequestRepository,
    gateway: SalesforceGateway,
    policy: Policy,
    *,
    request_id: str,
    actor: str,
) -> Resumed | Refused:
    """An admin takes over an existing user for this grant: its baseline is the user now."""
    found = await check_admin_press(
        repo,
        policy,
        request_id=request_id,
        actor=actor,
        button="adopt_user",
        states=(State.NEEDS_ADMIN,),
        kind=Kind.GRANT,
    )
    if isinstance(found, Refused):
        return found
    problem = (found.needs_admin_reason or "").split(":", 1)[0]
    if problem != ADOPTION_PROBLEM or not found.sf_username or not was_approved(found):
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=found)
    user = await gateway.find_user_state(found.sf_username)
    if user is None:  # gone meanwhile: nothing to adopt, a plain retry creates it
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=found)
    adopted = await repo.managed.adopt(
        found.sf_username,
        sf_user_id=user.id,
        baseline=baseline_of(user),
        actor=actor,
        request_id=found.id,
    )
    if adopted is None:
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=found)
    return await _resume(repo, found, actor, to=State.APPROVED, action="adoption_approved")


async def username_in_this_org(gateway: SalesforceGateway, username: str) -> bool:
    """Whether ``username`` already names a user of this org (someone else's, perhaps)."""
    return await gateway.find_user_state(username) is not None


async def confirm_resolved(
    repo: RequestRepository,
    gateway: SalesforceGateway,
    policy: Policy,
    *,
    request_id: str,
    actor: str,
    worker: str,
    lease: timedelta,
) -> RevokedAccess | StillActive | Refused | Skipped:
    """Close a blocked revocation if Salesforce now shows its user inactive (or gone)."""
    found = await check_admin_press(
        repo,
        policy,
        request_id=request_id,
        actor=actor,
        button="resolved_in_salesforce",
        states=(State.BLOCKED,),
        kind=Kind.REVOKE,
    )
    if isinstance(found, Refused):
        return found
    user = await gateway.get_user(found.sf_user_id) if found.sf_user_id else None
    if user is not None and user.is_active:
        await repo.audit.append(
            request_id=found.id,
            actor=actor,
            action="resolution_checked",
            detail={"user_id": user.id, "still_active": True},
        )
        return StillActive(revocation=found, user=user)
    claimed = await repo.transition(
        found.id,
        expected=State.BLOCKED,
        to=State.DEPROVISIONING,
        actor=actor,
        action="resolved_in_salesforce",
        changes={"claimed_by": worker, "claimed_until": repo.clock() + lease},
        detail={"user_id": found.sf_user_id, "user_found": user is not None},
    )
    if claimed is None:
        return Refused(reason=RefusalReason.NOTHING_TO_DO, request=await repo.get(found.id))
    return await close_revocation(
        repo,
        claimed,
        user_id=found.sf_user_id,
        deactivated=True,
        already_inactive=True,
        removed=0,
        kept_for=(),
        restored=False,
    )

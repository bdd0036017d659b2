"""Provisioning an approved grant: name its user, resolve names to Ids, record failures.

The Salesforce side is the converger's (``handlers.flows.converge``); this module holds what
it needs to know about one grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.flows.desired import DesiredUser, GrantAccess
from handlers.flows.drafts import missing_for_provisioning
from handlers.flows.outcomes import NeedsAdmin, Skipped, WillRetry
from handlers.flows.people import Person, make_alias, salesforce_language, salesforce_locale
from handlers.flows.retry import schedule_retry
from handlers.policy import Application, Policy
from salesforce.errors import (
    DuplicateUsername,
    InsufficientAccess,
    LicenseLimitExceeded,
    ProfileLicenseMismatch,
    SalesforceError,
    SessionExpired,
    ValidationRule,
)
from salesforce.models import Catalog, PermissionSet, PermissionSetGroup, UserSpec
from storage.models import AccessRequest, ManagedUser, State
from storage.requests import RequestRepository
from storage.together import Together

# The kind of help an admin is asked for, by the error that made it necessary.
PROBLEMS: dict[type[SalesforceError], str] = {
    DuplicateUsername: "username_taken",
    LicenseLimitExceeded: "no_free_seat",
    ProfileLicenseMismatch: "profile_license_mismatch",
    InsufficientAccess: "insufficient_access",
    ValidationRule: "validation_rule",
    SessionExpired: "session_expired",
}


def problem_of(error: SalesforceError) -> str:
    """The escalation kind for a failure that a person has to fix."""
    if error.retryable:
        return "repeated_failure"
    return next((p for t, p in PROBLEMS.items() if isinstance(error, t)), "other")


@dataclass(frozen=True)
class ProvisioningConfig:
    """Org-wide choices for new users."""

    username_suffix: str = ""
    default_time_zone: str = "America/Los_Angeles"
    default_locale: str = "en_US"
    lease: timedelta = timedelta(minutes=5)


class Unresolvable(Exception):
    """A request Salesforce cannot be given as it stands: a person has to complete it."""

    def __init__(self, problem: str, human: str, fix: str) -> None:
        super().__init__(human)
        self.problem, self.human, self.fix = problem, human, fix


def username_for(request: AccessRequest, suffix: str) -> str:
    """The Salesforce username: an admin's override, else the Slack email plus the suffix."""
    if request.username_override:
        return request.username_override.strip().lower()
    return f"{request.subject_email.strip().lower()}{suffix}"


def suggest_username(taken: str) -> str:
    """An alternative to a username taken in another org: add the company's name as a suffix."""
    domain = taken.rsplit("@", 1)[-1]
    tag = domain.split(".", 1)[0] or "sf"
    candidate = f"{taken}.{tag}"
    return candidate if candidate != taken else f"{taken}.1"


def grant_access(
    request: AccessRequest, app: Application, catalog: Catalog, *, lenient: bool = False
) -> GrantAccess:
    """What ``request`` gives, resolved to Ids; raises ``Unresolvable`` unless ``lenient``.

    ``lenient`` (for grants already active): names the org no longer has are left out.
    """
    missing = missing_for_provisioning(
        request.license, request.profile, request.role, require_role=app.require_role
    )
    if missing and not lenient:
        raise Unresolvable(
            f"incomplete: missing {', '.join(missing)}",
            f"The request does not say which {' and '.join(missing)} to give.",
            f"Complete the request with a {' and a '.join(missing)}.",
        )
    profile = catalog.profile_named(request.profile or "")
    lic = catalog.license_named(request.license or "")
    if (profile is None or lic is None) and not lenient:
        name = request.profile if profile is None else request.license
        raise Unresolvable(
            "incomplete: unknown name",
            f"{name!r} does not exist in the org (renamed or deleted?).",
            "Complete the request with a profile and license that exist, or fix the policy.",
        )
    if profile is not None and lic is not None and profile.license_id != lic.id and not lenient:
        raise Unresolvable(
            "profile_license_mismatch",
            f"The profile {profile.name!r} does not belong to the {lic.name!r} license.",
            "Complete the request with a profile of that license.",
        )
    role_id = None
    if request.role:
        role = catalog.role_named(request.role)
        if role is None and not lenient:
            raise Unresolvable(
                "incomplete: unknown role",
                f"The role {request.role!r} does not exist in the org.",
                "Complete the request with an existing role, or none.",
            )
        role_id = role.id if role else None
    assignables: list[str] = []
    for name in request.permission_sets:
        found: PermissionSet | PermissionSetGroup | None
        if name.startswith("group:"):
            found = catalog.group_named(name.removeprefix("group:"))
        else:
            found = catalog.permission_set_named(name)
        if found is not None:
            assignables.append(found.id)
        elif not lenient:
            raise Unresolvable(
                "incomplete: unknown permission set",
                f"The permission set {name!r} does not exist in the org.",
                "Complete the request without it, or fix the policy.",
            )
    return GrantAccess(
        grant_id=request.id,
        profile_id=profile.id if profile else "",
        role_id=role_id,
        assignables=tuple(assignables),
        since=request.decided_at or request.created_at,
    )


def spec_for(
    wanted: list[AccessRequest],
    desired: DesiredUser,
    person: Person,
    app: Application | None,
    cfg: ProvisioningConfig,
    *,
    username: str,
) -> UserSpec:
    """The new user to create for the desired state of ``wanted`` grants."""
    first, last = person.split_name()
    locale = salesforce_locale(person.locale, cfg.default_locale)
    sets = sorted(i for i in desired.assignments if not i.startswith("0PG"))
    groups = sorted(i for i in desired.assignments if i.startswith("0PG"))
    return UserSpec(
        username=username,
        email=wanted[0].subject_email or person.email,
        first_name=first[:40],
        last_name=last[:80],
        alias=make_alias(first, last),
        time_zone=person.tz or cfg.default_time_zone,
        locale=locale,
        language=salesforce_language(locale),
        profile_id=desired.profile_id or "",
        role_id=desired.role_id,
        permission_set_ids=tuple(sets),
        permission_set_group_ids=tuple(groups),
        extra_fields=dict(app.extra_user_fields) if app else {},
    )


@dataclass(frozen=True)
class ProvisionStart:
    """Who provisions a grant approved now, so the approval's own transaction can start it:
    the grant is claimed and its user leased by this worker before the click is answered."""

    worker: str
    cfg: ProvisioningConfig


def _starting(
    request: AccessRequest, worker: str, cfg: ProvisioningConfig, now: datetime
) -> dict[str, object]:
    return {
        "claimed_by": worker,
        "claimed_until": now + cfg.lease,
        # An admin may have chosen another username since an earlier attempt.
        "sf_username": username_for(request, cfg.username_suffix),
    }


async def start_provisioning(
    repo: RequestRepository,
    request: AccessRequest,
    *,
    worker: str,
    cfg: ProvisioningConfig,
) -> AccessRequest | Skipped:
    """Claim an approved grant and name its user: the user becomes managed and dirty."""
    if request.state is State.PROVISIONING:
        return request  # resumed after a crash or a lease that ran out: converge again
    if request.state is not State.APPROVED:
        return Skipped(request_id=request.id, why=f"state is {request.state}")
    started = await repo.transition(
        request.id,
        expected=State.APPROVED,
        to=State.PROVISIONING,
        actor="bot",
        action="provisioning_started",
        changes=_starting(request, worker, cfg, repo.clock()),
    )
    if started is None:
        return Skipped(request_id=request.id, why="another worker took it")
    return started


async def begin_provisioning(
    unit: Together, approved: AccessRequest, start: ProvisionStart
) -> tuple[AccessRequest | None, ManagedUser | None]:
    """In the approval's transaction: claim the grant, name its user (managed and dirty) and
    lease that user for ``start.worker``; the grant as it now is and the leased user (None
    when another worker holds that user: the converger leases it when free)."""
    started = await unit.transition(
        approved.id,
        expected=State.APPROVED,
        to=State.PROVISIONING,
        actor="bot",
        action="provisioning_started",
        changes=_starting(approved, start.worker, start.cfg, unit.clock()),
    )
    if started is None or not started.sf_username:
        return started, None
    leased = await unit.claim_users(
        [started.sf_username], worker=start.worker, lease=start.cfg.lease
    )
    return started, next(iter(leased), None)


async def provisioning_failed(
    repo: RequestRepository, request: AccessRequest, error: SalesforceError, policy: Policy
) -> NeedsAdmin | WillRetry | Skipped:
    """A failed Salesforce call for a grant: retry later, or hand it to the admins."""
    return await _failed(repo, request, error, policy, request.sf_username or "")


async def _failed(
    repo: RequestRepository,
    request: AccessRequest,
    error: SalesforceError,
    policy: Policy,
    username: str,
) -> NeedsAdmin | WillRetry | Skipped:
    retried = await schedule_retry(
        repo,
        request,
        error,
        policy,
        working=State.PROVISIONING,
        back_to=State.APPROVED,
        action="provisioning_failed",
    )
    if retried is not None:
        return retried
    attempt = request.attempts + 1
    problem = problem_of(error)
    human, fix = error.human, error.fix
    if error.retryable:
        human = f"Provisioning failed {attempt} times; the last error: {error.human}"
        fix = "Check that Salesforce is reachable and the API limit is not exhausted, then retry."
    suggestion = suggest_username(username) if isinstance(error, DuplicateUsername) else None
    return await _needs_admin(
        repo, request, problem, human, fix, error.raw_message, suggestion, attempt=attempt
    )


async def needs_admin(
    repo: RequestRepository,
    request: AccessRequest,
    problem: Unresolvable,
    *,
    existing_user_id: str | None = None,
) -> NeedsAdmin | Skipped:
    """A grant a person has to complete or decide on before Salesforce can be changed."""
    return await _needs_admin(
        repo, request, problem.problem, problem.human, problem.fix, "", existing=existing_user_id
    )


async def _needs_admin(
    repo: RequestRepository,
    request: AccessRequest,
    problem: str,
    human: str,
    fix: str,
    raw: str,
    suggestion: str | None = None,
    *,
    attempt: int | None = None,
    existing: str | None = None,
) -> NeedsAdmin | Skipped:
    changes: dict[str, object] = {
        "needs_admin_reason": problem,
        "last_error": f"{human} {raw}".strip(),
        "claimed_by": None,
        "claimed_until": None,
    }
    if attempt is not None:
        changes["attempts"] = attempt
    moved = await repo.transition(
        request.id,
        expected=State.PROVISIONING,
        to=State.NEEDS_ADMIN,
        actor="bot",
        action="provisioning_failed",
        changes=changes,
        detail={"problem": problem, "salesforce": raw, "human": human, "existing_user": existing},
        touch=False,
    )
    if moved is None:
        return Skipped(request_id=request.id, why="state changed while provisioning")
    return NeedsAdmin(
        request=moved,
        problem=problem,
        human=human,
        fix=fix,
        raw=raw,
        suggested_username=suggestion,
        existing_user_id=existing,
    )

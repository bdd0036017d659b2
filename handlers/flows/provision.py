"""Provisioning an approved grant: resolve names to Ids, call Salesforce, record the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from handlers.flows.catalog import CatalogService
from handlers.flows.drafts import missing_for_provisioning
from handlers.flows.outcomes import NeedsAdmin, Provisioned, Skipped, WillRetry
from handlers.flows.people import Person, make_alias, salesforce_language, salesforce_locale
from handlers.flows.ports import SalesforceGateway
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
from salesforce.models import Catalog, UserSpec
from storage.models import AccessRequest, State
from storage.requests import RequestRepository

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


class _Unresolvable(Exception):
    def __init__(self, problem: str, human: str, fix: str) -> None:
        super().__init__(human)
        self.problem, self.human, self.fix = problem, human, fix


def username_for(request: AccessRequest, suffix: str) -> str:
    """The Salesforce username: an admin's override, else the Slack email plus the suffix."""
    if request.username_override:
        return request.username_override
    return f"{request.subject_email.strip().lower()}{suffix}"


def suggest_username(taken: str) -> str:
    """An alternative to a username taken in another org: add the company's name as a suffix."""
    domain = taken.rsplit("@", 1)[-1]
    tag = domain.split(".", 1)[0] or "sf"
    candidate = f"{taken}.{tag}"
    return candidate if candidate != taken else f"{taken}.1"


def build_spec(
    request: AccessRequest,
    app: Application,
    catalog: Catalog,
    person: Person,
    cfg: ProvisioningConfig,
) -> UserSpec:
    """The user Salesforce should end up with; raises when a name cannot be resolved."""
    missing = missing_for_provisioning(
        request.license, request.profile, request.role, require_role=app.require_role
    )
    if missing:
        raise _Unresolvable(
            f"incomplete: missing {', '.join(missing)}",
            f"The request does not say which {' and '.join(missing)} to give.",
            f"Complete the request with a {' and a '.join(missing)}.",
        )
    assert request.profile is not None and request.license is not None
    profile = catalog.profile_named(request.profile)
    lic = catalog.license_named(request.license)
    if profile is None or lic is None:
        name = request.profile if profile is None else request.license
        raise _Unresolvable(
            "incomplete: unknown name",
            f"{name!r} does not exist in the org (renamed or deleted?).",
            "Complete the request with a profile and license that exist, or fix the policy.",
        )
    if profile.license_id != lic.id:
        raise _Unresolvable(
            "profile_license_mismatch",
            f"The profile {profile.name!r} does not belong to the {lic.name!r} license.",
            "Complete the request with a profile of that license.",
        )
    role_id = None
    if request.role:
        role = catalog.role_named(request.role)
        if role is None:
            raise _Unresolvable(
                "incomplete: unknown role",
                f"The role {request.role!r} does not exist in the org.",
                "Complete the request with an existing role, or none.",
            )
        role_id = role.id
    set_ids: list[str] = []
    group_ids: list[str] = []
    for name in request.permission_sets:
        if name.startswith("group:"):
            group = catalog.group_named(name.removeprefix("group:"))
            if group is not None:
                group_ids.append(group.id)
                continue
        else:
            ps = catalog.permission_set_named(name)
            if ps is not None:
                set_ids.append(ps.id)
                continue
        raise _Unresolvable(
            "incomplete: unknown permission set",
            f"The permission set {name!r} does not exist in the org.",
            "Complete the request without it, or fix the policy.",
        )
    first, last = person.split_name()
    locale = salesforce_locale(person.locale, cfg.default_locale)
    return UserSpec(
        username=username_for(request, cfg.username_suffix),
        email=request.subject_email or person.email,
        first_name=first[:40],
        last_name=last[:80],
        alias=make_alias(first, last),
        time_zone=person.tz or cfg.default_time_zone,
        locale=locale,
        language=salesforce_language(locale),
        profile_id=profile.id,
        role_id=role_id,
        permission_set_ids=tuple(set_ids),
        permission_set_group_ids=tuple(group_ids),
        extra_fields=dict(app.extra_user_fields),
    )


async def provision_grant(
    repo: RequestRepository,
    gateway: SalesforceGateway,
    catalog: CatalogService,
    policy: Policy,
    request: AccessRequest,
    person: Person,
    *,
    worker: str,
    cfg: ProvisioningConfig,
) -> Provisioned | NeedsAdmin | WillRetry | Skipped:
    """Run one provisioning attempt; the Salesforce side is idempotent, so a re-run is safe."""
    now = repo.clock()
    lease = {"claimed_by": worker, "claimed_until": now + cfg.lease}
    if request.state is State.APPROVED:
        started = await repo.transition(
            request.id,
            expected=State.APPROVED,
            to=State.PROVISIONING,
            actor="bot",
            action="provisioning_started",
            changes=lease,
        )
        if started is None:
            return Skipped(request_id=request.id, why="another worker took it")
        request = started
    elif request.state is not State.PROVISIONING or request.claimed_by != worker:
        return Skipped(request_id=request.id, why=f"state is {request.state}")
    app = policy.application(request.application)
    if app is None:
        return await _needs_admin(
            repo,
            request,
            "other",
            f"The application {request.application!r} is no longer in the policy.",
            "Add it back to the policy or deny the request.",
            "",
        )
    try:
        spec = build_spec(request, app, await catalog.current(), person, cfg)
    except _Unresolvable as problem:
        return await _needs_admin(repo, request, problem.problem, problem.human, problem.fix, "")
    try:
        result = await gateway.provision(spec)
    except SalesforceError as error:
        return await _failed(repo, request, error, policy, spec.username)
    expires = None
    if request.duration_days is not None:
        expires = repo.clock() + timedelta(days=request.duration_days)
    done = await repo.transition(
        request.id,
        expected=State.PROVISIONING,
        to=State.ACTIVE,
        actor="bot",
        action="provisioned",
        changes={
            "sf_user_id": result.user_id,
            "sf_username": result.username,
            "expires_at": expires,
            "claimed_by": None,
            "claimed_until": None,
            "last_error": None,
            "needs_admin_reason": None,
        },
        detail={
            "salesforce": result.action.value,
            "user_id": result.user_id,
            "assigned": list(result.assigned),
            "api_calls": result.api_calls,
        },
    )
    if done is None:
        return Skipped(request_id=request.id, why="state changed while provisioning")
    return Provisioned(request=done, result=result)


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
        detail={"problem": problem, "salesforce": raw, "human": human},
    )
    if moved is None:
        return Skipped(request_id=request.id, why="state changed while provisioning")
    return NeedsAdmin(
        request=moved, problem=problem, human=human, fix=fix, raw=raw, suggested_username=suggestion
    )

from __future__ import annotations

import asyncio
from datetime import timedelta

from handlers.flows.batch import revoke_together
from handlers.flows.choices import build_choices
from handlers.flows.converge import Converger, Outcome
from handlers.flows.decide import decide
from handlers.flows.drafts import RequestDraft, check_draft
from handlers.flows.outcomes import (
    Decided,
    Ineligible,
    NeedsAdmin,
    Provisioned,
    RefusalReason,
    Refused,
    Rejected,
    RevocationBlocked,
    RevokedAccess,
    Submitted,
    WillRetry,
)
from handlers.flows.people import Ineligibility, Person, make_alias, salesforce_locale
from handlers.flows.provision import ProvisioningConfig, start_provisioning, suggest_username
from handlers.flows.revoke import RevokeSource, may_revoke, request_revocation
from handlers.flows.submit import store_request, submit_request
from handlers.policy import Policy
from salesforce.errors import DuplicateUsername, LicenseLimitExceeded, Transient
from storage.models import AccessRequest, Kind, State
from storage.requests import RequestRepository
from tests.handlers.fakes import (
    ADMIN,
    BOB,
    JANE,
    OTHER_OWNER,
    OWNER,
    FakeGateway,
    blocked,
    demo_catalog,
    sales_app,
)

JANE_PERSON = Person(
    id=JANE, email="jane@acme.test", real_name="Jane Doe", tz="Europe/Paris", locale="fr-FR"
)
GOOD = RequestDraft(
    application="sales",
    license="Salesforce",
    profile="Sales User",
    role="SalesRep",
    permission_sets=("Sales_Ops",),
    duration=timedelta(days=7),
    reason="Quarter close",
)


def choices():  # type: ignore[no-untyped-def]
    return build_choices(sales_app(), demo_catalog())


def test_check_draft_accepts_a_complete_draft() -> None:
    assert check_draft(GOOD, choices()) == {}


def test_check_draft_names_each_bad_field() -> None:
    errors = check_draft(RequestDraft(duration=timedelta(days=3), reason="  "), choices())
    assert set(errors) == {"license", "profile", "duration", "reason"}
    mismatch = check_draft(GOOD.model_copy(update={"profile": "Standard Platform User"}), choices())
    assert "does not belong" in mismatch["profile"]
    no_seat = check_draft(
        GOOD.model_copy(
            update={"license": "Salesforce Platform", "profile": "Standard Platform User"}
        ),
        choices(),
    )
    assert "No free" in no_seat["license"]


def test_choices_report_names_missing_from_the_org() -> None:
    app = sales_app(profiles=("Standard User", "Ghost Profile"), roles=("NoSuchRole",))
    found = build_choices(app, demo_catalog())
    assert [p.name for p in found.profiles] == ["Standard User"]
    assert found.missing == ("profile 'Ghost Profile'", "role 'NoSuchRole'")


def test_people_helpers() -> None:
    assert make_alias("Élodie", "Ñúñez-O'Brien") == "enunezob"
    assert salesforce_locale("fr-FR") == "fr_FR"
    assert salesforce_locale("xx-YY") == "en_US"
    assert Person(id="U1", email="x@y.z").split_name() == ("", "x")
    assert suggest_username("jane@acme.com") == "jane@acme.com.acme"


async def _submitted(repo: RequestRepository, requester: str = JANE) -> AccessRequest:
    outcome = await submit_request(
        repo,
        sales_app(),
        choices(),
        GOOD,
        requester=Person(id=requester, email="jane@acme.test"),
        subject=Person(id=requester, email="jane@acme.test"),
    )
    assert isinstance(outcome, Submitted)
    return outcome.request


async def test_submit_stores_a_pending_request_once(repo: RequestRepository) -> None:
    person = Person(id=JANE, email="jane@acme.test")
    first = await submit_request(
        repo,
        sales_app(),
        choices(),
        GOOD,
        requester=person,
        subject=person,
        idempotency_key="view:V1",
    )
    second = await submit_request(
        repo,
        sales_app(),
        choices(),
        GOOD,
        requester=person,
        subject=person,
        idempotency_key="view:V1",
    )
    assert isinstance(first, Submitted) and isinstance(second, Submitted)
    assert first.created and not second.created
    assert first.request.state is State.PENDING_APPROVAL
    assert len(await repo.find()) == 1


async def test_submit_with_errors_stores_nothing(repo: RequestRepository) -> None:
    person = Person(id=JANE)
    outcome = await submit_request(
        repo, sales_app(), choices(), RequestDraft(), requester=person, subject=person
    )
    assert isinstance(outcome, Rejected)
    assert await repo.find() == []


async def test_submit_for_someone_salesforce_cannot_hold_stores_nothing(
    repo: RequestRepository,
) -> None:
    """Salesforce requires an Email: without one the request could only fail after approval."""
    cases = {
        Ineligibility.NO_EMAIL: Person(id=BOB, email=" "),
        Ineligibility.DEACTIVATED: Person(id=BOB, email="bob@acme.test", deleted=True),
        Ineligibility.BOT: Person(id=BOB, email="bob@acme.test", is_bot=True),
    }
    for reason, subject in cases.items():
        outcome = await submit_request(
            repo, sales_app(), choices(), GOOD, requester=JANE_PERSON, subject=subject
        )
        assert outcome == Ineligible(subject_id=BOB, reason=reason, admins=sales_app().admins)
    assert await repo.find() == []


async def test_incomplete_request_goes_to_the_admins(repo: RequestRepository) -> None:
    person = Person(id=JANE)
    outcome = await store_request(
        repo, sales_app(), RequestDraft(license="Salesforce"), requester=person, subject=person
    )
    assert outcome.request.state is State.NEEDS_ADMIN
    assert outcome.request.needs_admin_reason == "incomplete: missing Profile"


async def test_only_owners_decide_and_never_their_own(
    repo: RequestRepository, policy: Policy
) -> None:
    request = await _submitted(repo)
    stranger = await decide(repo, policy, request_id=request.id, actor=BOB, approve=True)
    assert isinstance(stranger, Refused) and stranger.reason is RefusalReason.NOT_OWNER
    admin = await decide(repo, policy, request_id=request.id, actor=ADMIN, approve=True)
    assert isinstance(admin, Refused) and admin.reason is RefusalReason.NOT_OWNER
    own = await _submitted(repo, requester=OWNER)
    self_approval = await decide(repo, policy, request_id=own.id, actor=OWNER, approve=True)
    assert isinstance(self_approval, Refused)
    assert self_approval.reason is RefusalReason.OWN_REQUEST
    forged = await decide(repo, policy, request_id="R-NOPE", actor=OWNER, approve=True)
    assert isinstance(forged, Refused) and forged.reason is RefusalReason.NOT_FOUND
    stored = await repo.get(request.id)
    assert stored is not None and stored.state is State.PENDING_APPROVAL
    actions = [e.action for e in await repo.audit.for_request(request.id)]
    assert actions == ["submitted", "decision_refused", "decision_refused"]


async def test_first_decision_wins(repo: RequestRepository, policy: Policy) -> None:
    request = await _submitted(repo)
    results = await asyncio.gather(
        decide(repo, policy, request_id=request.id, actor=OWNER, approve=True),
        decide(repo, policy, request_id=request.id, actor=OTHER_OWNER, approve=False, note="no"),
    )
    decided = [r for r in results if isinstance(r, Decided)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(decided) == 1 and len(refused) == 1
    assert refused[0].reason is RefusalReason.ALREADY_DECIDED
    assert refused[0].decided_by == decided[0].request.decided_by


async def _approved(repo: RequestRepository, policy: Policy) -> AccessRequest:
    request = await _submitted(repo)
    outcome = await decide(repo, policy, request_id=request.id, actor=OWNER, approve=True)
    assert isinstance(outcome, Decided)
    return outcome.request


def _about(outcomes: list[Outcome], request_id: str) -> Outcome:
    """The outcome the converger reported for ``request_id``."""
    return next(
        o
        for o in outcomes
        if getattr(getattr(o, "request", None), "id", None) == request_id
        or getattr(getattr(o, "revocation", None), "id", None) == request_id
    )


async def provision_grant(
    repo: RequestRepository,
    converger: Converger,
    request: AccessRequest,
    cfg: ProvisioningConfig | None = None,
) -> Outcome:
    """Provision one grant the way the worker does: name its user, then converge it."""
    started = await start_provisioning(
        repo, request, worker="w1", cfg=cfg or ProvisioningConfig(username_suffix=".uat")
    )
    assert isinstance(started, AccessRequest) and started.sf_username
    return _about(await converger.converge([started.sf_username]), request.id)


async def run_revocation(converger: Converger, revocation: AccessRequest) -> Outcome:
    """Run one revocation the way the worker does: converge its user."""
    return _about(await revoke_together(converger, [revocation]), revocation.id)


async def test_provisioning_creates_the_user_and_starts_the_clock(
    repo: RequestRepository, policy: Policy, gateway: FakeGateway, converger: Converger
) -> None:
    request = await _approved(repo, policy)
    outcome = await provision_grant(repo, converger, request)
    assert isinstance(outcome, Provisioned)
    spec = next(arg for name, arg in gateway.calls if name == "create_user")
    assert spec.username == "jane@acme.test.uat"  # type: ignore[attr-defined]
    assert (spec.profile_id, spec.role_id, spec.permission_set_ids) == ("00eB", "00EA", ("0PSA",))  # type: ignore[attr-defined]
    assert (spec.time_zone, spec.locale, spec.alias) == ("Europe/Paris", "fr_FR", "jdoe")  # type: ignore[attr-defined]
    assert outcome.request.state is State.ACTIVE
    assert outcome.request.expires_at is not None
    assert outcome.request.expires_at - repo.clock() < timedelta(days=7, seconds=1)
    actions = [e.action for e in await repo.audit.for_request(request.id)]
    assert actions == ["submitted", "approved", "provisioning_started", "provisioned"]


async def test_transient_failure_is_retried_later(
    repo: RequestRepository, policy: Policy, gateway: FakeGateway, converger: Converger
) -> None:
    request = await _approved(repo, policy)
    gateway.provision_errors.append(Transient("503 Service Unavailable"))
    outcome = await provision_grant(repo, converger, request)
    assert isinstance(outcome, WillRetry)
    assert outcome.request.state is State.APPROVED and outcome.request.attempts == 1
    assert outcome.at > repo.clock()


async def test_duplicate_username_needs_an_admin_with_a_suggestion(
    repo: RequestRepository, policy: Policy, gateway: FakeGateway, converger: Converger
) -> None:
    request = await _approved(repo, policy)
    gateway.provision_errors.append(
        DuplicateUsername("Duplicate Username.", error_code="DUPLICATE_USERNAME")
    )
    outcome = await provision_grant(repo, converger, request, ProvisioningConfig())
    assert isinstance(outcome, NeedsAdmin)
    assert outcome.problem == "username_taken"
    assert outcome.suggested_username == "jane@acme.test.acme"
    assert outcome.request.state is State.NEEDS_ADMIN


async def test_no_seat_needs_an_admin(
    repo: RequestRepository, policy: Policy, gateway: FakeGateway, converger: Converger
) -> None:
    request = await _approved(repo, policy)
    gateway.provision_errors.append(LicenseLimitExceeded("License Limit Exceeded"))
    outcome = await provision_grant(repo, converger, request)
    assert isinstance(outcome, NeedsAdmin) and outcome.problem == "no_free_seat"
    assert "License Limit Exceeded" in (outcome.request.last_error or "")


async def _active(repo: RequestRepository, policy: Policy, converger: Converger) -> AccessRequest:
    request = await _approved(repo, policy)
    outcome = await provision_grant(repo, converger, request)
    assert isinstance(outcome, Provisioned)
    return outcome.request


async def test_revocation_deactivates_and_closes_the_grant(
    repo: RequestRepository, policy: Policy, gateway: FakeGateway, converger: Converger
) -> None:
    grant = await _active(repo, policy, converger)
    assert may_revoke(policy, grant, JANE) is RevokeSource.SELF
    assert may_revoke(policy, grant, BOB) is None
    revocation = await request_revocation(
        repo, grant, actor=JANE, source=RevokeSource.SELF, reason="done"
    )
    assert isinstance(revocation, AccessRequest) and revocation.kind is Kind.REVOKE
    again = await request_revocation(
        repo, grant, actor=OWNER, source=RevokeSource.OWNER, reason="dup"
    )
    assert isinstance(again, AccessRequest) and again.id == revocation.id
    outcome = await run_revocation(converger, revocation)
    assert isinstance(outcome, RevokedAccess)
    assert outcome.grant is not None and outcome.grant.state is State.REVOKED
    assert outcome.revocation.state is State.DONE
    assert ("deactivate", "005NEW") in gateway.calls


async def test_blocked_deactivation_keeps_the_grant_and_says_why(
    repo: RequestRepository, policy: Policy, gateway: FakeGateway, converger: Converger
) -> None:
    grant = await _active(repo, policy, converger)
    gateway.deactivate_outcomes["005NEW"] = blocked("005NEW")
    revocation = await request_revocation(
        repo, grant, actor=OWNER, source=RevokeSource.OWNER, reason="left team"
    )
    assert isinstance(revocation, AccessRequest)
    outcome = await run_revocation(converger, revocation)
    assert isinstance(outcome, RevocationBlocked)
    assert outcome.revocation.state is State.BLOCKED
    assert outcome.revocation.needs_admin_reason == "default_workflow_user"
    stored = await repo.get(grant.id)
    assert stored is not None and stored.state is State.ACTIVE
    # the admin clears the blocker; the retry succeeds
    del gateway.deactivate_outcomes["005NEW"]
    retried = await run_revocation(converger, outcome.revocation)
    assert isinstance(retried, RevokedAccess)


async def test_cancel_before_provisioning(repo: RequestRepository, policy: Policy) -> None:
    request = await _submitted(repo)
    cancelled = await request_revocation(
        repo, request, actor=JANE, source=RevokeSource.SELF, reason="not needed"
    )
    assert isinstance(cancelled, AccessRequest) and cancelled.state is State.CANCELLED


def test_an_exhausted_api_budget_is_retried_much_later() -> None:
    from datetime import UTC, datetime

    from handlers.flows.retry import retry_at
    from salesforce.errors import ApiBudgetExhausted

    now = datetime(2026, 11, 27, tzinfo=UTC)
    base = timedelta(seconds=30)
    assert retry_at(now, 1, base, Transient("503")) <= now + timedelta(seconds=45)
    for _ in range(20):
        at = retry_at(now, 1, base, ApiBudgetExhausted("REQUEST_LIMIT_EXCEEDED"))
        assert at >= now + timedelta(minutes=15)

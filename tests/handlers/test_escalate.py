"""The admins' fixes, revoke paths and offboarding, on a real SQLite file with a fake gateway."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from handlers.flows.choices import build_choices
from handlers.flows.decide import decide
from handlers.flows.drafts import RequestDraft
from handlers.flows.escalate import (
    Resumed,
    StillActive,
    check_admin_press,
    complete_request,
    confirm_resolved,
    retry,
    use_username,
    username_suggestion,
)
from handlers.flows.outcomes import (
    Decided,
    RefusalReason,
    Refused,
    Rejected,
    RevokedAccess,
)
from handlers.flows.people import Person
from handlers.flows.provision import ProvisioningConfig
from handlers.flows.revoke_paths import revoke_grant
from handlers.flows.submit import store_request
from handlers.policy import Policy
from salesforce.models import DeactivationOutcome, SalesforceUser
from storage.models import AccessRequest, NewRequest, State
from storage.requests import RequestRepository
from tests.handlers.fakes import (
    ADMIN,
    BOB,
    JANE,
    OWNER,
    FakeGateway,
    demo_catalog,
    sales_app,
)

LEASE = timedelta(minutes=5)


class BulkGateway(FakeGateway):
    """Records bulk calls, answers get_user from a dict, and can fail the bulk call."""

    def __init__(self) -> None:
        super().__init__()
        self.bulk_calls: list[list[str]] = []
        self.users: dict[str, SalesforceUser] = {}
        self.bulk_error: Exception | None = None

    async def deactivate_many(self, user_ids: Sequence[str]) -> dict[str, DeactivationOutcome]:
        self.bulk_calls.append(list(user_ids))
        if self.bulk_error is not None:
            raise self.bulk_error
        return {u: self.deactivate_outcomes.get(u) or await self.deactivate(u) for u in user_ids}

    async def get_user(self, user_id: str) -> SalesforceUser | None:
        return self.users.get(user_id)


async def grant(repo: RequestRepository, **fields: Any) -> AccessRequest:
    values: dict[str, Any] = {
        "application": "sales",
        "state": State.ACTIVE,
        "requester_id": JANE,
        "subject_id": JANE,
        "subject_email": "jane@acme.test",
        "license": "Salesforce",
        "profile": "Sales User",
        "duration": timedelta(days=7),
        "reason": "Quarter close",
        "sf_user_id": "005JANE",
        "sf_username": "jane@acme.test",
    }
    values.update(fields)
    created, _ = await repo.create(NewRequest(**values), actor=values["requester_id"])
    if created.state is State.ACTIVE and created.sf_user_id and created.sf_username:
        # as provisioned by the bot: a user it created and manages
        await repo.managed.add_created(
            created.sf_username, sf_user_id=created.sf_user_id, subject_id=created.subject_id
        )
    return created


async def blocked_revocation(repo: RequestRepository, policy: Policy) -> AccessRequest:
    active = await grant(repo)
    revocation = await revoke_grant(repo, policy, grant_id=active.id, actor=JANE, reason="")
    assert isinstance(revocation, AccessRequest)
    return await _move(repo, revocation, State.BLOCKED)


async def _move(repo: RequestRepository, request: AccessRequest, to: State) -> AccessRequest:
    moved = await repo.transition(
        request.id,
        expected=request.state,
        to=to,
        actor="bot",
        action="test",
        changes={"needs_admin_reason": "default_workflow_user"},
    )
    assert moved is not None
    return moved


async def state_of(repo: RequestRepository, request_id: str) -> State | None:
    stored = await repo.get(request_id)
    return stored.state if stored else None


async def actions(repo: RequestRepository, request_id: str) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in await repo.audit.for_request(request_id)]


# --- who may press ------------------------------------------------------------------------


async def test_only_admins_press_and_refusals_are_audited(
    repo: RequestRepository, policy: Policy
) -> None:
    revocation = await blocked_revocation(repo, policy)
    for actor in (JANE, OWNER, BOB):
        refused = await retry(repo, policy, request_id=revocation.id, actor=actor)
        assert isinstance(refused, Refused) and refused.reason is RefusalReason.NOT_ADMIN
    refused_rows = [a for a in await actions(repo, revocation.id) if a[1] == "escalation_refused"]
    assert [actor for actor, _ in refused_rows] == [JANE, OWNER, BOB]
    stored = await repo.get(revocation.id)
    assert stored is not None and stored.state is State.BLOCKED
    missing = await retry(repo, policy, request_id="R-NOPE", actor=ADMIN)
    assert isinstance(missing, Refused) and missing.reason is RefusalReason.NOT_FOUND


async def test_a_press_on_a_request_that_moved_on_changes_nothing(
    repo: RequestRepository, policy: Policy
) -> None:
    active = await grant(repo)
    refused = await check_admin_press(
        repo,
        policy,
        request_id=active.id,
        actor=ADMIN,
        button="retry",
        states=(State.NEEDS_ADMIN,),
    )
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.NOTHING_TO_DO
    assert (ADMIN, "escalation_refused") in await actions(repo, active.id)


# --- retry ------------------------------------------------------------------------------------


async def test_retry_of_a_blocked_deactivation_is_due_at_once(
    repo: RequestRepository, policy: Policy
) -> None:
    revocation = await blocked_revocation(repo, policy)
    outcome = await retry(
        repo, policy, request_id=revocation.id, actor=ADMIN, button="retry_deactivation"
    )
    assert isinstance(outcome, Resumed) and not outcome.to_owners
    assert outcome.request.state is State.REQUESTED and outcome.request.attempts == 0
    # a restart before the worker runs loses nothing: the tick finds it due
    due = await repo.claim_due([State.REQUESTED], worker="w2", lease=LEASE)
    assert [r.id for r in due] == [revocation.id]
    assert (ADMIN, "deactivation_retry_requested") in await actions(repo, revocation.id)
    # two admins pressing at once: the second finds nothing to do
    again = await retry(repo, policy, request_id=revocation.id, actor=ADMIN)
    assert isinstance(again, Refused) and again.reason is RefusalReason.NOTHING_TO_DO


async def test_retry_of_a_failed_provisioning_goes_back_to_approved(
    repo: RequestRepository, policy: Policy
) -> None:
    stuck = await grant(
        repo, state=State.NEEDS_ADMIN, needs_admin_reason="no_free_seat", sf_user_id=None
    )
    decided = await repo.transition(
        stuck.id,
        expected=State.NEEDS_ADMIN,
        to=State.NEEDS_ADMIN,
        actor=OWNER,
        action="test",
        changes={"decided_by": OWNER, "attempts": 3},
    )
    assert decided is not None
    outcome = await retry(repo, policy, request_id=stuck.id, actor=ADMIN)
    assert isinstance(outcome, Resumed)
    assert outcome.request.state is State.APPROVED and outcome.request.attempts == 0


async def test_retry_cannot_fill_in_what_is_missing(
    repo: RequestRepository, policy: Policy
) -> None:
    person = Person(id=JANE)
    stored = await store_request(
        repo, sales_app(), RequestDraft(license="Salesforce"), requester=person, subject=person
    )
    outcome = await retry(repo, policy, request_id=stored.request.id, actor=ADMIN)
    assert isinstance(outcome, Refused) and outcome.reason is RefusalReason.NOTHING_TO_DO


# --- complete request ---------------------------------------------------------------------------


COMPLETE = RequestDraft(
    application="sales",
    license="Salesforce",
    profile="Sales User",
    role="SalesRep",
    permission_sets=("Sales_Ops",),
    duration=timedelta(days=7),
    reason="Quarter close",
)


async def test_an_incomplete_request_goes_to_the_owners_once_completed(
    repo: RequestRepository, policy: Policy
) -> None:
    person = Person(id=JANE, email="jane@acme.test")
    stored = await store_request(
        repo, sales_app(), RequestDraft(license="Salesforce"), requester=person, subject=person
    )
    assert stored.request.state is State.NEEDS_ADMIN
    choices = build_choices(sales_app(), demo_catalog())
    bad = await complete_request(
        repo,
        policy,
        choices,
        request_id=stored.request.id,
        actor=ADMIN,
        draft=RequestDraft(license="Salesforce"),
    )
    assert isinstance(bad, Rejected) and "profile" in bad.errors
    by_owner = await complete_request(
        repo, policy, choices, request_id=stored.request.id, actor=OWNER, draft=COMPLETE
    )
    assert isinstance(by_owner, Refused) and by_owner.reason is RefusalReason.NOT_ADMIN
    done = await complete_request(
        repo, policy, choices, request_id=stored.request.id, actor=ADMIN, draft=COMPLETE
    )
    assert isinstance(done, Resumed) and done.to_owners
    assert done.request.state is State.PENDING_APPROVAL
    assert (done.request.profile, done.request.role) == ("Sales User", "SalesRep")
    entry = next(
        e for e in await repo.audit.for_request(done.request.id) if e.action == "completed"
    )
    assert entry.actor == ADMIN and entry.detail["before"]["profile"] is None
    assert entry.detail["after"]["profile"] == "Sales User"


async def approved_and_stuck(repo: RequestRepository, **fields: Any) -> AccessRequest:
    """A grant an owner approved that now waits for an admin."""
    stuck = await grant(repo, state=State.NEEDS_ADMIN, sf_user_id=None, **fields)
    approved = await repo.transition(
        stuck.id,
        expected=State.NEEDS_ADMIN,
        to=State.NEEDS_ADMIN,
        actor=OWNER,
        action="test",
        changes={"decided_by": OWNER},
    )
    assert approved is not None
    return approved


async def test_an_approved_request_goes_straight_to_provisioning_once_completed(
    repo: RequestRepository, policy: Policy
) -> None:
    # the profile's name was gone from the org; the admin completes it with what was approved
    stuck = await approved_and_stuck(
        repo,
        role="SalesRep",
        permission_sets=("Sales_Ops",),
        needs_admin_reason="incomplete: unknown name",
    )
    choices = build_choices(sales_app(require_role=True), demo_catalog())
    done = await complete_request(
        repo, policy, choices, request_id=stuck.id, actor=ADMIN, draft=COMPLETE
    )
    assert isinstance(done, Resumed) and not done.to_owners and done.change is None
    assert done.request.state is State.APPROVED and done.request.decided_by == OWNER


async def test_a_role_the_owner_never_saw_goes_back_to_the_owners(
    repo: RequestRepository, policy: Policy
) -> None:
    stuck = await approved_and_stuck(repo, role=None, needs_admin_reason="incomplete: missing Role")
    choices = build_choices(sales_app(require_role=True), demo_catalog())
    done = await complete_request(
        repo, policy, choices, request_id=stuck.id, actor=ADMIN, draft=COMPLETE
    )
    assert isinstance(done, Resumed) and done.to_owners and done.approved_by == OWNER
    assert done.request.state is State.PENDING_APPROVAL and done.request.role == "SalesRep"
    assert done.request.decided_by is None and done.request.decided_at is None
    assert done.change is not None and done.change.added == ("Sales_Ops",)
    assert [(c.label, c.before, c.after) for c in done.change.widened] == [
        ("Role", None, "SalesRep")
    ]
    entry = (await repo.audit.for_request(stuck.id))[-1]
    assert entry.action == "changed_after_approval" and entry.detail["approved_by"] == OWNER


async def test_an_admin_may_not_complete_their_own_request(repo: RequestRepository) -> None:
    policy = Policy(applications=(sales_app(admins=(ADMIN, BOB)),))
    stuck = await approved_and_stuck(
        repo, requester_id=ADMIN, subject_id=ADMIN, needs_admin_reason="no_free_seat"
    )
    choices = build_choices(sales_app(), demo_catalog())
    refused = await complete_request(
        repo, policy, choices, request_id=stuck.id, actor=ADMIN, draft=COMPLETE
    )
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.OWN_ESCALATION
    assert refused.helpers == (BOB,)
    again = await retry(repo, policy, request_id=stuck.id, actor=ADMIN)
    assert isinstance(again, Refused) and again.reason is RefusalReason.OWN_ESCALATION
    by_bob = await retry(repo, policy, request_id=stuck.id, actor=BOB)
    assert isinstance(by_bob, Resumed)


# --- another username ------------------------------------------------------------------------


async def test_a_chosen_username_is_stored_as_the_override(
    repo: RequestRepository, policy: Policy
) -> None:
    stuck = await grant(
        repo, state=State.NEEDS_ADMIN, sf_user_id=None, needs_admin_reason="username_taken"
    )
    taken, suggested = username_suggestion(stuck, ProvisioningConfig(username_suffix=".uat"))
    assert (taken, suggested) == ("jane@acme.test.uat", "jane@acme.test.uat.acme")
    never_approved = await use_username(
        repo, policy, request_id=stuck.id, actor=ADMIN, username=suggested
    )
    assert isinstance(never_approved, Refused)
    await repo.transition(
        stuck.id,
        expected=State.NEEDS_ADMIN,
        to=State.NEEDS_ADMIN,
        actor=OWNER,
        action="test",
        changes={"decided_by": OWNER},
    )
    done = await use_username(repo, policy, request_id=stuck.id, actor=ADMIN, username=suggested)
    assert isinstance(done, Resumed)
    assert done.request.state is State.APPROVED
    assert done.request.username_override == suggested
    again = username_suggestion(done.request, ProvisioningConfig(username_suffix=".uat"))
    assert again[0] == suggested  # the override is what provisioning uses now


# --- resolved in Salesforce ------------------------------------------------------------------


async def test_resolved_rechecks_the_user_before_closing(
    repo: RequestRepository, policy: Policy
) -> None:
    gateway = BulkGateway()
    revocation = await blocked_revocation(repo, policy)
    gateway.users["005JANE"] = SalesforceUser(
        id="005JANE", username="jane@acme.test", is_active=True
    )
    still = await confirm_resolved(
        repo, gateway, policy, request_id=revocation.id, actor=ADMIN, worker="w1", lease=LEASE
    )
    assert isinstance(still, StillActive)
    stored = await repo.get(revocation.id)
    assert stored is not None and stored.state is State.BLOCKED
    gateway.users["005JANE"] = gateway.users["005JANE"].model_copy(update={"is_active": False})
    closed = await confirm_resolved(
        repo, gateway, policy, request_id=revocation.id, actor=ADMIN, worker="w1", lease=LEASE
    )
    assert isinstance(closed, RevokedAccess) and closed.already_inactive
    assert closed.revocation.state is State.DONE
    assert closed.grant is not None and closed.grant.state is State.REVOKED
    trail = await actions(repo, revocation.id)
    assert (ADMIN, "resolution_checked") in trail and (ADMIN, "resolved_in_salesforce") in trail
    assert gateway.calls == []  # no deactivation call: the user was already inactive


async def test_an_admin_who_is_also_an_owner_does_not_approve_their_own_change(
    repo: RequestRepository,
) -> None:
    policy = Policy(applications=(sales_app(owners=(OWNER, ADMIN)),))
    stuck = await approved_and_stuck(repo, role=None, needs_admin_reason="no_free_seat")
    choices = build_choices(sales_app(), demo_catalog())
    sent_back = await complete_request(
        repo, policy, choices, request_id=stuck.id, actor=ADMIN, draft=COMPLETE
    )
    assert isinstance(sent_back, Resumed) and sent_back.to_owners
    own = await decide(repo, policy, request_id=stuck.id, actor=ADMIN, approve=True)
    assert isinstance(own, Refused) and own.reason is RefusalReason.OWN_CHANGE
    assert (await repo.audit.for_request(stuck.id))[-1].detail["why"] == "own_change"
    approved = await decide(repo, policy, request_id=stuck.id, actor=OWNER, approve=True)
    assert isinstance(approved, Decided) and approved.request.state is State.APPROVED

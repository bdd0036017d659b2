"""The converger's Salesforce primitives against the simulated org: create, read, apply.

Call counts: a new user is 1 call; reading a user (by Id or Username) is 1; applying a whole
difference (activation, profile, role, freeze, assignments in and out) is 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.salesforce_org import FaultKind, SimulatedOrg
from bot.sandbox.sf_seed import INACTIVE_USERNAME
from salesforce.auth import SalesforceAuth
from salesforce.errors import DuplicateUsername, Transient
from salesforce.gateway import SalesforceGateway
from salesforce.models import (
    Blocker,
    Catalog,
    ChangeApplied,
    DeactivationBlocked,
    ProvisionAction,
    UserChange,
    UserSpec,
)


async def test_a_new_user_takes_one_api_call(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    seats_before = org.license("Salesforce")
    result = await gateway.create_user(make_spec(federation_id="new.hire@idp"))
    assert result.action is ProvisionAction.CREATED
    assert result.api_calls == 1 and org.api_calls == 1
    user = org.user(result.user_id)
    assert user is not None and user.is_active and user.profile_name == "Sales User"
    assert user.federation_id == "new.hire@idp" and not user.frozen
    assert org.assignments_of(result.user_id) == ("Sales_Bundle", "Sales_Ops")
    seats_after = org.license("Salesforce")
    assert seats_before is not None and seats_after is not None
    assert seats_after.used == seats_before.used + 1


async def test_a_taken_username_is_refused_and_changes_nothing(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    org.take_username_elsewhere("someone@acme.com")
    users = len(org.users())
    with pytest.raises(DuplicateUsername):
        await gateway.create_user(make_spec("someone@acme.com"))
    with pytest.raises(DuplicateUsername):
        await gateway.create_user(make_spec(INACTIVE_USERNAME))  # this org's own
    assert len(org.users()) == users and org.api_calls == 2
    # taken in another org: nobody here has it
    assert await gateway.find_user_state("someone@acme.com") is None


async def test_reading_a_user_shows_what_the_converger_compares(
    gateway: SalesforceGateway, org: SimulatedOrg, catalog: Catalog
) -> None:
    jordan = await gateway.find_user_state(INACTIVE_USERNAME.upper())
    assert org.api_calls == 1
    assert jordan is not None and not jordan.is_active and not jordan.frozen
    reports = catalog.permission_set_named("Reports_Export")
    assert reports is not None and list(jordan.assignments) == [reports.id]
    assert jordan.login_id is not None and jordan.created_at is not None
    # made in Setup, not by the integration user
    assert jordan.created_by_id != await gateway.integration_user_id()
    again = await gateway.read_user(jordan.id)
    assert again == jordan and org.api_calls == 2


async def test_a_whole_difference_is_one_call(
    gateway: SalesforceGateway, org: SimulatedOrg, catalog: Catalog
) -> None:
    jordan = await gateway.find_user_state(INACTIVE_USERNAME)
    profile, role = catalog.profile_named("Standard User"), catalog.role_named("SalesManager")
    sales_ops = catalog.permission_set_named("Sales_Ops")
    assert jordan and profile and role and sales_ops
    org.reset_counters()
    change = UserChange(
        user_id=jordan.id,
        fields={"IsActive": True, "ProfileId": profile.id, "UserRoleId": role.id},
        frozen=True,
        login_id=jordan.login_id,
        assign=(sales_ops.id,),
        remove=tuple(jordan.assignments.values()),
    )
    outcome = await gateway.apply_change(change)
    assert outcome == ChangeApplied(user_id=jordan.id, assigned=(sales_ops.id,), removed=1)
    assert org.api_calls == 1
    after = org.user(jordan.id)
    assert after is not None and after.is_active and after.frozen
    assert after.profile_name == "Standard User" and after.role_id == role.id
    assert org.assignments_of(jordan.id) == ("Sales_Ops",)
    # nothing left to do costs nothing
    assert await gateway.apply_change(UserChange(user_id=jordan.id)) == ChangeApplied(
        user_id=jordan.id
    )
    assert org.api_calls == 1


async def test_work_someone_else_did_meanwhile_counts_as_done(
    gateway: SalesforceGateway, org: SimulatedOrg, catalog: Catalog
) -> None:
    maria = await gateway.find_user_state("maria.garcia@acme.com")
    reports = catalog.permission_set_named("Reports_Export")
    sales_ops = catalog.permission_set_named("Sales_Ops")
    assert maria and reports and sales_ops
    assignment = maria.assignments[sales_ops.id]
    org.assign(maria.id, reports.id)  # an admin assigned it; another removed Sales_Ops
    org.delete_in_setup("PermissionSetAssignment", assignment)
    org.reset_counters()
    change = UserChange(
        user_id=maria.id, fields={"Title": "AE"}, assign=(reports.id,), remove=(assignment,)
    )
    assert isinstance(await gateway.apply_change(change), ChangeApplied)
    user = org.user(maria.id)
    assert user is not None and user.fields["Title"] == "AE"
    assert org.assignments_of(maria.id) == ("Reports_Export",)
    assert org.api_calls == 3  # the change, then again without each part already done


async def test_many_assignments_spill_into_a_collection_call(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    extra = tuple(org.add_permission_set(f"Extra_{n}") for n in range(30))
    result = await gateway.create_user(make_spec(permission_set_ids=extra))
    assert len(org.assignments_of(result.user_id)) == 31
    assert result.api_calls == 2
    state = await gateway.read_user(result.user_id)
    assert state is not None
    org.reset_counters()
    change = UserChange(user_id=result.user_id, remove=tuple(state.assignments.values()))
    outcome = await gateway.apply_change(change)
    assert isinstance(outcome, ChangeApplied) and outcome.removed == 31
    assert org.assignments_of(result.user_id) == () and org.api_calls == 2


async def test_a_refused_deactivation_rolls_back_and_freezes(
    gateway: SalesforceGateway, org: SimulatedOrg, catalog: Catalog
) -> None:
    sam = await gateway.find_user_state("sam.patel@acme.com")
    assert sam is not None
    org.block_deactivation(sam.id, "The user is the Default Workflow User for ...")
    change = UserChange(
        user_id=sam.id,
        fields={"IsActive": False},
        login_id=sam.login_id,
        remove=tuple(sam.assignments.values()),
    )
    outcome = await gateway.apply_change(change)
    assert isinstance(outcome, DeactivationBlocked)
    assert outcome.blocker is Blocker.DEFAULT_WORKFLOW_USER and outcome.frozen
    user = org.user(sam.id)
    assert user is not None and user.is_active and user.frozen
    assert org.assignments_of(sam.id) == ("Knowledge_Author",)  # rolled back with the rest


async def test_a_create_that_landed_unseen_is_recognisably_the_bots(
    token_auth: SalesforceAuth, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    gateway = SalesforceGateway(token_auth, timeout=0.3)
    sent = datetime.now(UTC)
    org.faults.inject(FaultKind.TIMEOUT, path="/composite", hold=0.6)
    try:
        with pytest.raises(Transient):
            await gateway.create_user(make_spec("unseen@acme.com"))
        for _ in range(40):  # the org finishes the held request after the client gave up
            if org.user_by_username("unseen@acme.com") is not None:
                break
            await asyncio.sleep(0.05)
        found = await gateway.find_user_state("unseen@acme.com")
        bot = await gateway.integration_user_id()
    finally:
        await gateway.aclose()
    assert found is not None and found.created_by_id == bot
    assert found.created_at is not None and found.created_at >= sent - timedelta(seconds=1)

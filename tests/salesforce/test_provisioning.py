"""Provisioning against the simulated org: call counts, reactivation, idempotence."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.sandbox.salesforce_org import FaultKind, SimulatedOrg, UserSnapshot
from bot.sandbox.sf_seed import INACTIVE_USERNAME
from salesforce.auth import SalesforceAuth
from salesforce.client import SalesforceClient
from salesforce.composite import Subrequest
from salesforce.errors import DuplicateUsername, Transient
from salesforce.gateway import SalesforceGateway
from salesforce.models import Catalog, ProvisionAction, UserSpec
from salesforce.provisioning import _apply


def _state(org: SimulatedOrg) -> list[tuple[UserSnapshot, tuple[str, ...]]]:
    return [(u, org.assignments_of(u.id)) for u in org.users()]


async def test_a_new_user_takes_one_api_call(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    seats_before = org.license("Salesforce")
    result = await gateway.provision(make_spec(federation_id="new.hire@idp"))
    assert result.action is ProvisionAction.CREATED
    assert result.api_calls == 1 and org.api_calls == 1
    user = org.user(result.user_id)
    assert user is not None and user.is_active and user.profile_name == "Sales User"
    assert user.federation_id == "new.hire@idp" and not user.frozen
    assert org.assignments_of(result.user_id) == ("Sales_Bundle", "Sales_Ops")
    seats_after = org.license("Salesforce")
    assert seats_before is not None and seats_after is not None
    assert seats_after.used == seats_before.used + 1


async def test_reactivation_takes_at_most_three_calls_and_unfreezes(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    before = org.user_by_username(INACTIVE_USERNAME)
    assert before is not None and not before.is_active and before.frozen
    seats = org.license("Salesforce")
    result = await gateway.provision(make_spec(INACTIVE_USERNAME))
    assert result.action is ProvisionAction.REACTIVATED and result.user_id == before.id
    assert result.api_calls == org.api_calls <= 3
    after = org.user(before.id)
    assert after is not None and after.is_active and not after.frozen
    # the leftover Reports_Export stays; the requested set and group are added
    assert org.assignments_of(before.id) == ("Reports_Export", "Sales_Bundle", "Sales_Ops")
    seats_now = org.license("Salesforce")
    assert seats is not None and seats_now is not None and seats_now.used == seats.used + 1
    assert len(org.users()) == len({u.username for u in org.users()})  # no second user


async def test_running_twice_leaves_the_org_as_if_once(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    for username in ("fresh@acme.com", INACTIVE_USERNAME):
        spec = make_spec(username)
        first = await gateway.provision(spec)
        once = _state(org)
        org.reset_counters()
        second = await gateway.provision(spec)
        assert _state(org) == once
        assert second.user_id == first.user_id
        assert second.action is ProvisionAction.UPDATED
        assert second.api_calls == 2  # the create attempt and the lookup; nothing to change


async def test_an_active_user_gets_the_new_profile_role_and_sets(
    gateway: SalesforceGateway,
    org: SimulatedOrg,
    catalog: Catalog,
    make_spec: Callable[..., UserSpec],
) -> None:
    sam = org.user_by_username("sam.patel@acme.com")
    assert sam is not None
    profile, role = catalog.profile_named("Standard User"), catalog.role_named("SalesManager")
    assert profile and role
    result = await gateway.provision(
        make_spec("sam.patel@acme.com", profile_id=profile.id, role_id=role.id)
    )
    assert result.action is ProvisionAction.UPDATED and result.api_calls == 3
    after = org.user(sam.id)
    assert after is not None and after.profile_name == "Standard User" and after.role_id == role.id
    assert org.assignments_of(sam.id) == ("Knowledge_Author", "Sales_Bundle", "Sales_Ops")


async def test_a_federation_id_finds_the_person_under_another_username(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    profile = org.id_of("Profile", "Sales User")
    old = org.add_user("j.doe@acme.com", profile, active=False, federation_id="jdoe@idp")
    org.take_username_elsewhere("jane.doe@acme.com")
    result = await gateway.provision(make_spec("jane.doe@acme.com", federation_id="jdoe@idp"))
    assert result.user_id == old and result.username == "j.doe@acme.com"
    assert result.action is ProvisionAction.REACTIVATED


async def test_a_username_taken_elsewhere_is_a_duplicate_after_two_calls(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    org.take_username_elsewhere("someone@acme.com")
    users = len(org.users())
    with pytest.raises(DuplicateUsername):
        await gateway.provision(make_spec("someone@acme.com"))
    assert len(org.users()) == users and org.api_calls == 2


async def test_many_assignments_spill_into_a_collection_call(
    gateway: SalesforceGateway, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    extra = tuple(org.add_permission_set(f"Extra_{n}") for n in range(30))
    result = await gateway.provision(make_spec(permission_set_ids=extra))
    assert len(org.assignments_of(result.user_id)) == 31
    assert result.api_calls == 2


def test_an_assignment_made_meanwhile_counts_as_done(
    client: SalesforceClient, org: SimulatedOrg
) -> None:
    maria = org.id_of("User", "maria.garcia@acme.com")
    sales_ops, reports = (
        org.id_of("PermissionSet", "Sales_Ops"),
        org.id_of("PermissionSet", "Reports_Export"),
    )
    _apply(
        client,
        [
            Subrequest(
                method="PATCH",
                path=f"sobjects/User/{maria}",
                reference_id="user",
                body={"Title": "AE"},
            ),
            Subrequest(
                method="POST",
                path="sobjects/PermissionSetAssignment",
                reference_id="assign0",
                body={"AssigneeId": maria, "PermissionSetId": sales_ops},
            ),
            Subrequest(
                method="POST",
                path="sobjects/PermissionSetAssignment",
                reference_id="assign1",
                body={"AssigneeId": maria, "PermissionSetId": reports},
            ),
        ],
    )
    user = org.user(maria)
    assert user is not None and user.fields["Title"] == "AE"
    assert org.assignments_of(maria) == ("Reports_Export", "Sales_Ops")
    assert org.api_calls == 2


async def test_a_create_that_landed_unseen_is_found_on_the_retry(
    token_auth: SalesforceAuth, org: SimulatedOrg, make_spec: Callable[..., UserSpec]
) -> None:
    gateway = SalesforceGateway(token_auth, timeout=0.3)
    spec = make_spec("unseen@acme.com")
    org.faults.inject(FaultKind.TIMEOUT, path="/composite", hold=0.6)
    try:
        with pytest.raises(Transient):
            await gateway.provision(spec)
        for _ in range(40):  # the org finishes the held request after the client gave up
            if org.user_by_username("unseen@acme.com") is not None:
                break
            await asyncio.sleep(0.05)
        retried = await gateway.provision(spec)
    finally:
        await gateway.aclose()
    assert retried.action is ProvisionAction.UPDATED and retried.api_calls == 2
    assert [u.username for u in org.users()].count("unseen@acme.com") == 1
    assert org.assignments_of(retried.user_id) == ("Sales_Bundle", "Sales_Ops")

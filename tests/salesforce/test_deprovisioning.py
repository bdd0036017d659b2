"""Deactivation against the simulated org: clean-up, blockers with freeze, bulk in 200s."""

from __future__ import annotations

import pytest

from bot.sandbox.salesforce_org import SimulatedOrg
from salesforce.errors import InsufficientAccess, RecordNotFound
from salesforce.gateway import SalesforceGateway
from salesforce.models import Blocker, Deactivated, DeactivationBlocked

BLOCKERS = [
    (
        "FIELD_INTEGRITY_EXCEPTION",
        "This user is the default owner of cases created from Web-to-Case and Email-to-Case.",
        Blocker.DEFAULT_CASE_OWNER,
    ),
    (
        "FIELD_INTEGRITY_EXCEPTION",
        "You cannot deactivate the Automated Case User. Change it in Support Settings.",
        Blocker.DEFAULT_CASE_OWNER,
    ),
    (
        "FIELD_INTEGRITY_EXCEPTION",
        "The user is the Default Workflow User and can't be deactivated.",
        Blocker.DEFAULT_WORKFLOW_USER,
    ),
    (
        "FIELD_INTEGRITY_EXCEPTION",
        "The user is the Web to Lead Default Creator.",
        Blocker.LEAD_SETTINGS,
    ),
    (
        "FIELD_INTEGRITY_EXCEPTION",
        "This user is used in Case Assignment or Escalation rules.",
        Blocker.CASE_RULES,
    ),
    (
        "FIELD_INTEGRITY_EXCEPTION",
        "This user is an approver in one or more approval processes.",
        Blocker.APPROVER,
    ),
    (
        "FIELD_INTEGRITY_EXCEPTION",
        "The user is the value of a hierarchy field on other users.",
        Blocker.HIERARCHY_FIELD,
    ),
    (
        "FIELD_INTEGRITY_EXCEPTION",
        "This user is the portal administrator of your Customer Portal.",
        Blocker.PORTAL_ADMIN,
    ),
    ("CANNOT_DISABLE_LAST_ADMIN", "Cannot deactivate this user.", Blocker.LAST_ADMIN),
    ("FIELD_INTEGRITY_EXCEPTION", "Something nobody documented blocks this.", Blocker.UNKNOWN),
]


async def test_deactivation_frees_the_seat_and_removes_assignments(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    maria = org.id_of("User", "maria.garcia@acme.com")
    seats = org.license("Salesforce")
    outcome = await gateway.deactivate(maria)
    assert outcome == Deactivated(user_id=maria, removed_assignments=1)
    assert org.api_calls == 2  # one composite, one collections delete
    user = org.user(maria)
    assert user is not None and not user.is_active and org.assignments_of(maria) == ()
    now = org.license("Salesforce")
    assert seats is not None and now is not None and now.used == seats.used - 1


async def test_an_inactive_user_is_reported_as_such(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    chris = org.id_of("User", "chris.wu@acme.com")
    await gateway.deactivate(chris)
    org.reset_counters()
    again = await gateway.deactivate(chris)
    assert again == Deactivated(user_id=chris, already_inactive=True)
    assert org.api_calls == 1


@pytest.mark.parametrize(("code", "message", "blocker"), BLOCKERS)
async def test_each_blocker_is_classified_and_the_user_frozen(
    gateway: SalesforceGateway, org: SimulatedOrg, code: str, message: str, blocker: Blocker
) -> None:
    sam = org.id_of("User", "sam.patel@acme.com")
    org.block_deactivation(sam, message, code)
    outcome = await gateway.deactivate(sam)
    assert isinstance(outcome, DeactivationBlocked)
    assert outcome.blocker is blocker and outcome.frozen and outcome.raw_message == message
    assert outcome.explanation and outcome.fix
    if blocker is Blocker.UNKNOWN:
        assert message in outcome.explanation
    # every known blocker names the Setup page where it changes; an unknown one cannot
    assert all(p.startswith("Setup > ") for p in outcome.setup)
    assert bool(outcome.setup) is (blocker is not Blocker.UNKNOWN)
    user = org.user(sam)
    assert user is not None and user.is_active and user.frozen
    assert org.assignments_of(sam) == ("Knowledge_Author",)  # kept until the real deactivation
    assert org.api_calls == 2
    org.clear_block(sam)
    assert await gateway.deactivate(sam) == Deactivated(user_id=sam, removed_assignments=1)


async def test_problems_of_the_bot_are_errors_not_blockers(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    org.admin_update(
        "PermissionSet",
        org.id_of("PermissionSet", "AccessBot_Integration"),
        PermissionsManageInternalUsers=False,
    )
    with pytest.raises(InsufficientAccess):
        await gateway.deactivate(org.id_of("User", "sam.patel@acme.com"))
    with pytest.raises(RecordNotFound):
        await gateway.deactivate("005' OR Id != '")
    with pytest.raises(RecordNotFound):
        await gateway.deactivate("0055g0000000zzzAAA")


async def test_freeze_and_unfreeze(gateway: SalesforceGateway, org: SimulatedOrg) -> None:
    pat = org.id_of("User", "pat.jones@acme.com")
    assert await gateway.freeze(pat) and org.is_frozen(pat)
    assert await gateway.freeze(pat) and org.is_frozen(pat)
    assert await gateway.unfreeze(pat) and not org.is_frozen(pat)


async def test_450_users_take_three_collection_calls(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    lic = org.add_license("Bulk", 500)
    profile = org.add_profile("Bulk User", lic)
    reports = org.id_of("PermissionSet", "Reports_Export")
    ids = [org.add_user(f"bulk{n}@acme.com", profile) for n in range(450)]
    for user_id in ids[:10]:
        org.assign(user_id, reports)
    org.block_deactivation(ids[7], "The user is the Default Workflow User.")
    org.block_deactivation(ids[300], "Something else entirely.")
    inactive = ids[5]
    org.admin_update("User", inactive, IsActive=False)
    org.reset_counters()

    outcomes = await gateway.deactivate_many([*ids, "not-an-id"])

    patches = [
        c for c in org.calls if c.method == "PATCH" and c.path.endswith("/composite/sobjects")
    ]
    user_patches = [c for c in patches if c.json["records"][0]["attributes"]["type"] == "User"]
    assert len(user_patches) == 3
    assert [len(c.json["records"]) for c in user_patches] == [200, 200, 49]
    login_patches = [c for c in patches if c not in user_patches]
    assert len(login_patches) == 1 and len(login_patches[0].json["records"]) == 2
    blocked = {k: v for k, v in outcomes.items() if isinstance(v, DeactivationBlocked)}
    assert set(blocked) == {ids[7], ids[300], "not-an-id"}
    assert blocked[ids[7]].blocker is Blocker.DEFAULT_WORKFLOW_USER and blocked[ids[7]].frozen
    assert blocked[ids[300]].blocker is Blocker.UNKNOWN and org.is_frozen(ids[300])
    assert outcomes[inactive] == Deactivated(
        user_id=inactive, already_inactive=True, removed_assignments=1
    )
    assert outcomes[ids[0]] == Deactivated(user_id=ids[0], removed_assignments=1)
    assert outcomes[ids[449]] == Deactivated(user_id=ids[449])
    assert all(not u.is_active for u in org.users() if u.id in ids and u.id not in blocked)
    assert org.assignments_of(ids[7]) == ("Reports_Export",)
    assert all(org.assignments_of(i) == () for i in ids[:10] if i != ids[7])
    assert org.api_calls == 1 + 3 + 2 + 3 + 1  # read, deactivate, freeze, find and delete sets

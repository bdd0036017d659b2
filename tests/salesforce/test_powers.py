"""Which records hand over the org, read from their permission sets: one call each."""

from __future__ import annotations

from bot.sandbox.salesforce_org import SimulatedOrg
from salesforce.gateway import SalesforceGateway
from salesforce.models import Catalog, GrantKind, Power


async def test_a_profile_s_powers_are_on_its_owning_permission_set(
    gateway: SalesforceGateway, catalog: Catalog, org: SimulatedOrg
) -> None:
    admin = catalog.profile_named("System Administrator")
    sales = catalog.profile_named("Sales User")
    assert admin and sales
    found = await gateway.record_powers(GrantKind.PROFILE, admin.id)
    assert set(found.powers) == set(Power) and not found.integration_user_holds
    assert (await gateway.record_powers(GrantKind.PROFILE, sales.id)).powers == ()
    # the bot's own profile, read with its permission sets in the same call
    api_only = catalog.profile_named("Minimum Access - API Only Integrations")
    assert api_only
    mine = await gateway.record_powers(GrantKind.PROFILE, api_only.id)
    assert mine.integration_user_holds and mine.powers == ()
    # one call each (who the bot is comes from userinfo, read once, not an API call)
    assert org.api_calls == 3


async def test_permission_sets_and_groups_carry_their_flags(
    gateway: SalesforceGateway, catalog: Catalog, org: SimulatedOrg
) -> None:
    apex = org.add_permission_set("Apex_Dev", "Apex Developer", permissions=(Power.AUTHOR_APEX,))
    viewer = org.add_permission_set(
        "See_All", "See Everything", permissions=(Power.VIEW_ALL_DATA, "PermissionsApiEnabled")
    )
    group = org.add_group("Power_Bundle", "Power Bundle", permission_set_ids=(viewer,))
    found = await gateway.record_powers(GrantKind.PERMISSION_SET, apex)
    assert found.powers == (Power.AUTHOR_APEX,) and not found.integration_user_holds
    assert (await gateway.record_powers(GrantKind.GROUP, group)).powers == (Power.VIEW_ALL_DATA,)
    bot_set = catalog.permission_set_named("AccessBot_Integration")
    sales_ops = catalog.permission_set_named("Sales_Ops")
    assert bot_set and sales_ops
    assert (
        await gateway.record_powers(GrantKind.PERMISSION_SET, bot_set.id)
    ).integration_user_holds
    plain = await gateway.record_powers(GrantKind.PERMISSION_SET, sales_ops.id)
    assert plain.powers == () and not plain.integration_user_holds

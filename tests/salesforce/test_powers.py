"""Which records hand over the org, read from their permission sets: one call each, or one
query for all of a request's sets and groups."""

from __future__ import annotations

from bot.sandbox.salesforce_org import SimulatedOrg
from handlers.approval_rules import Tier
from handlers.flows.choices import build_choices
from handlers.flows.drafts import RequestDraft
from handlers.flows.tiers import TierVerdict, request_tier
from handlers.policy import Application
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


async def test_the_flags_of_several_sets_and_groups_are_read_in_one_query(
    gateway: SalesforceGateway, catalog: Catalog, org: SimulatedOrg
) -> None:
    apex = org.add_permission_set("Apex_Dev", "Apex Developer", permissions=(Power.AUTHOR_APEX,))
    setup = org.add_permission_set(
        "Setup_Tools", "Setup Tools", permissions=("PermissionsCustomizeApplication",)
    )
    viewer = org.add_permission_set("See_All", "See Everything", permissions=(Power.VIEW_ALL_DATA,))
    group = org.add_group("Power_Bundle", "Power Bundle", permission_set_ids=(viewer,))
    sales_ops = catalog.permission_set_named("Sales_Ops")
    assert sales_ops
    org.reset_counters()
    found = await gateway.grant_powers(
        [
            (GrantKind.PERMISSION_SET, apex),
            (GrantKind.PERMISSION_SET, setup),
            (GrantKind.PERMISSION_SET, sales_ops.id),
            (GrantKind.GROUP, group),
        ]
    )
    assert org.api_calls == 1
    (call,) = org.calls
    assert call.method == "GET" and "/query" in call.path
    assert found[apex].powers == (Power.AUTHOR_APEX,)
    assert found[setup].powers == () and found[setup].customizes_application
    assert found[sales_ops.id].powers == () and not found[sales_ops.id].customizes_application
    assert found[group].kind is GrantKind.GROUP and found[group].powers == (Power.VIEW_ALL_DATA,)


async def test_a_request_s_tier_reads_every_set_s_flags_in_one_call(
    gateway: SalesforceGateway, org: SimulatedOrg
) -> None:
    org.add_permission_set("Apex_Dev", "Apex Developer", permissions=(Power.AUTHOR_APEX,))
    org.add_permission_set(
        "Setup_Tools", "Setup Tools", permissions=("PermissionsCustomizeApplication",)
    )
    viewer = org.add_permission_set("See_All", "See Everything", permissions=(Power.VIEW_ALL_DATA,))
    org.add_group("Power_Bundle", "Power Bundle", permission_set_ids=(viewer,))
    catalog = await gateway.fetch_catalog()
    sets = ("Apex_Dev", "Setup_Tools", "Sales_Ops", "Reports_Export", "group:Power_Bundle")
    app = Application(
        name="sales",
        owners=("U0OWNER",),
        admins=("U0ADMIN",),
        licenses=("Salesforce",),
        profiles=("Sales User",),
        permission_sets=sets,
        high_if_powerful=True,
    )
    draft = RequestDraft(license="Salesforce", profile="Sales User", permission_sets=sets)
    org.reset_counters()
    verdict = await request_tier(
        app, draft, build_choices(app, catalog), catalog=catalog, gateway=gateway
    )
    assert org.api_calls == 1  # five sets and groups, one query
    assert verdict.tier is Tier.HIGH
    assert verdict.powerful == ("Apex_Dev", "Setup_Tools", "group:Power_Bundle")
    org.reset_counters()
    plain = RequestDraft(
        license="Salesforce", profile="Sales User", permission_sets=("Sales_Ops", "Reports_Export")
    )
    standard = await request_tier(
        app, plain, build_choices(app, catalog), catalog=catalog, gateway=gateway
    )
    assert standard == TierVerdict(tier=Tier.STANDARD) and org.api_calls == 1

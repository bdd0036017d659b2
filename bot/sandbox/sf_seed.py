"""A realistic small org for the demo and the tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.sandbox.sf_schema import PERMISSION_FIELDS

if TYPE_CHECKING:
    from bot.sandbox.sf_setup import OrgSetup

INTEGRATION_USERNAME = "accessbot@acme.com"
ADMIN_USERNAME = "admin@acme.com"
INACTIVE_USERNAME = "jordan.lee@acme.com"
CLIENT_ID = "3MVG9sim.accessbot.consumer.key"
CLIENT_SECRET = "sim-client-secret"  # noqa: S105 - a demo org's public test value
LEAST_PRIVILEGE = (
    "PermissionsApiEnabled",
    "PermissionsViewSetup",
    "PermissionsManageInternalUsers",
    "PermissionsAssignPermissionSets",
    "PermissionsFreezeUsers",
    "PermissionsManageRoles",
    "PermissionsTransferAnyEntity",
)


def seed_demo(org: OrgSetup) -> None:
    """Licenses, profiles, roles, permission sets, a group and a handful of users."""
    org.set_organization("Acme Corp", is_sandbox=False)
    sfdc = org.add_license("Salesforce", 10, key="SFDC")
    platform = org.add_license("Salesforce Platform", 3, key="AUL")
    integration = org.add_license("Salesforce Integration", 5, key="SFDC_INTEGRATION")
    community = org.add_license(
        "Customer Community", 50, key="PID_Customer_Community", user_type="CspLitePortal"
    )
    admin_profile = org.add_profile("System Administrator", sfdc, permissions=PERMISSION_FIELDS)
    org.add_profile("Standard User", sfdc, permissions=("PermissionsApiEnabled",))
    sales_profile = org.add_profile("Sales User", sfdc, permissions=("PermissionsApiEnabled",))
    support_profile = org.add_profile("Support User", sfdc)
    platform_profile = org.add_profile("Standard Platform User", platform)
    api_only = org.add_profile(
        "Minimum Access - API Only Integrations",
        integration,
        permissions=("PermissionsApiEnabled",),
    )
    org.add_profile("Customer Community User", community)
    ceo = org.add_role("CEO")
    manager = org.add_role("Sales Manager", "SalesManager", parent_id=ceo)
    rep = org.add_role("Sales Rep", "SalesRep", parent_id=manager)
    agent = org.add_role("Support Agent", "SupportAgent", parent_id=ceo)
    sales_ops = org.add_permission_set("Sales_Ops", "Sales Operations")
    reports = org.add_permission_set("Reports_Export", "Export Reports")
    knowledge = org.add_permission_set("Knowledge_Author", "Knowledge Author")
    bot_set = org.add_permission_set(
        "AccessBot_Integration", "AccessBot Integration", permissions=LEAST_PRIVILEGE
    )
    org.add_group("Sales_Bundle", "Sales Bundle", permission_set_ids=(sales_ops, reports))
    org.add_user(ADMIN_USERNAME, admin_profile, first_name="Ada", last_name="Admin", role_id=ceo)
    bot = org.add_user(
        INTEGRATION_USERNAME, api_only, first_name="AccessBot", last_name="Integration"
    )
    org.assign(bot, bot_set)
    maria = org.add_user(
        "maria.garcia@acme.com", sales_profile, first_name="Maria", last_name="Garcia", role_id=rep
    )
    org.assign(maria, sales_ops)
    sam = org.add_user(
        "sam.patel@acme.com", support_profile, first_name="Sam", last_name="Patel", role_id=agent
    )
    org.assign(sam, knowledge)
    org.add_user(
        "chris.wu@acme.com", sales_profile, first_name="Chris", last_name="Wu", role_id=rep
    )
    org.add_user("pat.jones@acme.com", platform_profile, first_name="Pat", last_name="Jones")
    jordan = org.add_user(
        INACTIVE_USERNAME,
        sales_profile,
        first_name="Jordan",
        last_name="Lee",
        role_id=rep,
        active=False,
    )
    org.assign(jordan, reports)
    org.integration_username = INTEGRATION_USERNAME
    org.register_app(CLIENT_ID, consumer_secret=CLIENT_SECRET, run_as=INTEGRATION_USERNAME)

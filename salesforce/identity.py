"""Who the bot is in the org, and whether the integration user holds the permissions it needs."""

from __future__ import annotations

from salesforce import soql
from salesforce.client import SalesforceClient
from salesforce.models import OrgIdentity

# What a person reads -> the permission fields that grant it (any one is enough).
TRANSFER_RECORD = "Transfer Record"  # to hand a leaver's work over (or Modify All Data)
REQUIRED_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "API Enabled": ("PermissionsApiEnabled",),
    "View Setup and Configuration": ("PermissionsViewSetup",),
    "Manage Internal Users": ("PermissionsManageInternalUsers", "PermissionsManageUsers"),
    "Assign Permission Sets": ("PermissionsAssignPermissionSets",),
    "Freeze Users": ("PermissionsFreezeUsers", "PermissionsManageUsers"),
    "Manage Roles": ("PermissionsManageRoles",),
    TRANSFER_RECORD: ("PermissionsTransferAnyEntity", "PermissionsModifyAllData"),
}


def identity(client: SalesforceClient) -> OrgIdentity:
    """The org's Id, name and sandbox flag, and the integration user's username."""
    me = client.userinfo()
    orgs = client.query(soql.ORGANIZATION)
    org = orgs[0] if orgs else {}
    return OrgIdentity(
        org_id=str(org.get("Id") or me.organization_id),
        org_name=str(org.get("Name") or ""),
        is_sandbox=bool(org.get("IsSandbox")),
        integration_username=me.preferred_username,
    )


def permission_check(client: SalesforceClient) -> dict[str, bool]:
    """Each permission the bot needs -> whether its profile or permission sets grant it."""
    me = client.userinfo()
    granted: set[str] = set()
    for row in client.query(soql.permissions_of(me.user_id)):
        flags = row.get("PermissionSet") or {}
        granted.update(name for name in soql.PERMISSIONS if flags.get(name) is True)
    return {
        label: any(field in granted for field in fields)
        for label, fields in REQUIRED_PERMISSIONS.items()
    }

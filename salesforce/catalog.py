"""Reading what a request can pick from: licenses with seats, profiles, roles, sets and groups."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from salesforce import soql
from salesforce.client import SalesforceClient
from salesforce.composite import SubResponse, query_subrequest
from salesforce.expiration import DESCRIBE, supports_expiry
from salesforce.models import (
    Catalog,
    PermissionSet,
    PermissionSetGroup,
    Profile,
    Role,
    UserLicense,
)

_QUERIES = {
    "licenses": soql.LICENSES,
    "profiles": soql.PROFILES,
    "roles": soql.ROLES,
    "permissionSets": soql.PERMISSION_SETS,
    "groups": soql.GROUPS,
}


def _all_records(client: SalesforceClient, response: SubResponse) -> list[dict[str, Any]]:
    records = response.records()
    page = response.body if isinstance(response.body, dict) else {}
    while not page.get("done", True) and page.get("nextRecordsUrl"):
        page = client.query_more(str(page["nextRecordsUrl"]))
        records.extend(r for r in page.get("records", []) if isinstance(r, dict))
    return records


def fetch_catalog(client: SalesforceClient) -> Catalog:
    """The org's catalog, read with one composite call: the five queries and whether
    assignments can expire (the PermissionSetAssignment describe)."""
    subrequests = [query_subrequest(ref, text) for ref, text in _QUERIES.items()]
    subrequests.append(DESCRIBE)
    result = client.composite(subrequests, all_or_none=False)
    result.raise_for_failure()
    rows = {ref: _all_records(client, result.get(ref)) for ref in _QUERIES}
    return Catalog(
        licenses=tuple(
            UserLicense(
                id=r["Id"],
                name=r["Name"],
                master_label=r.get("MasterLabel") or "",
                total=r.get("TotalLicenses") or 0,
                used=r.get("UsedLicenses") or 0,
            )
            for r in rows["licenses"]
        ),
        profiles=tuple(
            Profile(
                id=r["Id"],
                name=r["Name"],
                license_id=r.get("UserLicenseId") or "",
                license_name=(r.get("UserLicense") or {}).get("Name") or "",
                user_type=r.get("UserType") or "Standard",
            )
            for r in rows["profiles"]
        ),
        roles=tuple(
            Role(
                id=r["Id"],
                name=r["Name"],
                developer_name=r.get("DeveloperName") or r["Name"],
                parent_role_id=r.get("ParentRoleId"),
            )
            for r in rows["roles"]
        ),
        permission_sets=tuple(
            PermissionSet(
                id=r["Id"],
                name=r["Name"],
                label=r.get("Label") or r["Name"],
                license_id=r.get("LicenseId"),
                is_custom=bool(r.get("IsCustom")),
            )
            for r in rows["permissionSets"]
        ),
        permission_set_groups=tuple(
            PermissionSetGroup(
                id=r["Id"],
                developer_name=r["DeveloperName"],
                label=r.get("MasterLabel") or r["DeveloperName"],
                status=r.get("Status") or "Updated",
            )
            for r in rows["groups"]
        ),
        refreshed_at=datetime.now(UTC),
        assignment_expiry=supports_expiry(result.get(DESCRIBE.reference_id).body),
    )

"""The simulated org's data model: objects, fields, relationships, Id prefixes and allowed calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

PERMISSION_FIELDS = (
    "PermissionsApiEnabled",
    "PermissionsViewSetup",
    "PermissionsManageUsers",
    "PermissionsManageInternalUsers",
    "PermissionsAssignPermissionSets",
    "PermissionsFreezeUsers",
    "PermissionsManageRoles",
    "PermissionsModifyAllData",
    "PermissionsViewAllData",
    "PermissionsAuthorApex",
    "PermissionsCustomizeApplication",
    "PermissionsTransferAnyEntity",
)


@dataclass(frozen=True)
class Relationship:
    """A lookup: ``name`` (as used in SOQL) follows ``field`` to a record of ``target``."""

    name: str
    field: str
    target: str


@dataclass(frozen=True)
class SObjectType:
    """One object: its fields, lookups and which REST calls it supports besides query/retrieve."""

    name: str
    prefix: str
    fields: tuple[str, ...]
    relationships: tuple[Relationship, ...] = ()
    calls: frozenset[str] = frozenset()
    extra_fields: set[str] = field(default_factory=set, compare=False)

    def canonical_field(self, name: str) -> str | None:
        """The field's proper spelling (SOQL and REST field names are case-insensitive)."""
        folded = name.casefold()
        known = (*self.fields, *sorted(self.extra_fields))
        return next((f for f in known if f.casefold() == folded), None)

    def relationship(self, name: str) -> Relationship | None:
        """The lookup called ``name`` (case-insensitive)."""
        folded = name.casefold()
        return next((r for r in self.relationships if r.name.casefold() == folded), None)


def build_schema() -> dict[str, SObjectType]:
    """A fresh schema (each org gets its own, because validation rules may add fields)."""
    types = [
        SObjectType(
            "Organization", "00D", ("Id", "Name", "IsSandbox", "OrganizationType", "InstanceName")
        ),
        SObjectType(
            "UserLicense",
            "100",
            (
                "Id",
                "Name",
                "MasterLabel",
                "LicenseDefinitionKey",
                "Status",
                "TotalLicenses",
                "UsedLicenses",
            ),
        ),
        SObjectType(
            "Profile",
            "00e",
            ("Id", "Name", "UserLicenseId", "UserType", "Description", *PERMISSION_FIELDS),
            (Relationship("UserLicense", "UserLicenseId", "UserLicense"),),
        ),
        SObjectType(
            "UserRole",
            "00E",
            ("Id", "Name", "DeveloperName", "ParentRoleId", "PortalType"),
            (Relationship("ParentRole", "ParentRoleId", "UserRole"),),
        ),
        SObjectType("PermissionSetGroup", "0PG", ("Id", "DeveloperName", "MasterLabel", "Status")),
        SObjectType(
            "PermissionSet",
            "0PS",
            (
                "Id",
                "Name",
                "Label",
                "LicenseId",
                "IsCustom",
                "IsOwnedByProfile",
                "ProfileId",
                "PermissionSetGroupId",
                "Type",
                *PERMISSION_FIELDS,
            ),
            (
                Relationship("Profile", "ProfileId", "Profile"),
                Relationship("PermissionSetGroup", "PermissionSetGroupId", "PermissionSetGroup"),
            ),
        ),
        SObjectType(
            "PermissionSetAssignment",
            "0Pa",
            ("Id", "AssigneeId", "PermissionSetId", "PermissionSetGroupId", "IsActive"),
            (
                Relationship("Assignee", "AssigneeId", "User"),
                Relationship("PermissionSet", "PermissionSetId", "PermissionSet"),
                Relationship("PermissionSetGroup", "PermissionSetGroupId", "PermissionSetGroup"),
            ),
            frozenset({"create", "update", "delete"}),
        ),
        SObjectType(
            "User",
            "005",
            (
                "Id",
                "Username",
                "FirstName",
                "LastName",
                "Name",
                "Email",
                "Alias",
                "CommunityNickname",
                "TimeZoneSidKey",
                "LocaleSidKey",
                "EmailEncodingKey",
                "LanguageLocaleKey",
                "ProfileId",
                "UserRoleId",
                "FederationIdentifier",
                "IsActive",
                "UserType",
                "Department",
                "Title",
                "CompanyName",
                "Division",
                "EmployeeNumber",
                "Phone",
                "ManagerId",
                "DelegatedApproverId",
                "CreatedDate",
                "CreatedById",
                "LastLoginDate",
            ),
            (
                Relationship("Profile", "ProfileId", "Profile"),
                Relationship("UserRole", "UserRoleId", "UserRole"),
                Relationship("Manager", "ManagerId", "User"),
                Relationship("DelegatedApprover", "DelegatedApproverId", "User"),
            ),
            frozenset({"create", "update"}),
        ),
        SObjectType(
            "UserLogin",
            "060",
            ("Id", "UserId", "IsFrozen", "IsPasswordLocked"),
            (Relationship("User", "UserId", "User"),),
            frozenset({"update"}),
        ),
        *_records_people_hold(),
    ]
    return {t.name: t for t in types}


def owned_object(name: str, prefix: str, *flags: str) -> SObjectType:
    """A record object with an owner (OwnerId, a User) and the given boolean ``Is*`` flags."""
    return SObjectType(
        name,
        prefix,
        ("Id", "Name", "OwnerId", *flags),
        (Relationship("Owner", "OwnerId", "User"),),
        frozenset({"update"}),
    )


def _records_people_hold() -> list[SObjectType]:
    """Objects whose records point at a user: owned records, approvals, queue members."""
    return [
        owned_object("Account", "001"),
        owned_object("Contact", "003"),
        owned_object("Opportunity", "006", "IsClosed", "IsWon"),
        owned_object("Lead", "00Q", "IsConverted"),
        owned_object("Case", "500", "IsClosed"),
        owned_object("Campaign", "701", "IsActive"),
        SObjectType("Group", "00G", ("Id", "Name", "DeveloperName", "Type")),
        SObjectType(
            "GroupMember",
            "011",
            ("Id", "GroupId", "UserOrGroupId"),
            (Relationship("Group", "GroupId", "Group"),),
        ),
        SObjectType("ProcessInstance", "04g", ("Id", "TargetObjectId", "Status")),
        SObjectType(
            "ProcessInstanceWorkitem",
            "04i",
            ("Id", "ProcessInstanceId", "ActorId", "OriginalActorId"),
            (
                Relationship("ProcessInstance", "ProcessInstanceId", "ProcessInstance"),
                Relationship("Actor", "ActorId", "User"),
            ),
            frozenset({"update"}),
        ),
    ]


def canonical_type(schema: dict[str, SObjectType], name: str) -> SObjectType | None:
    """The object called ``name`` (case-insensitive), if the org has it."""
    folded = name.casefold()
    return next((t for t in schema.values() if t.name.casefold() == folded), None)


# Fields the API computes or that never change after insert.
READ_ONLY_FIELDS = frozenset(
    {"Id", "Name", "UserType", "CreatedDate", "CreatedById", "UserId", "LastLoginDate"}
)
_DATE_TIMES = frozenset({"CreatedDate", "ExpirationDate", "LastLoginDate"})


def _field_type(name: str) -> str:
    if name == "Id":
        return "id"
    if name in _DATE_TIMES:
        return "datetime"
    if name.endswith("Id"):
        return "reference"
    if name.startswith(("Is", "Permissions")):
        return "boolean"
    return "string"


def describe(sobject_type: SObjectType) -> dict[str, object]:
    """GET sobjects/{type}/describe, cut down to the keys a client reads: the object's calls and
    each field's name, type and whether it can be written."""
    writable = sobject_type.calls & {"create", "update"}
    fields = [
        {
            "name": name,
            "type": _field_type(name),
            "createable": "create" in writable and name not in READ_ONLY_FIELDS,
            "updateable": "update" in writable and name not in READ_ONLY_FIELDS,
            "nillable": name not in ("Id", "AssigneeId"),
        }
        for name in (*sobject_type.fields, *sorted(sobject_type.extra_fields))
    ]
    return {
        "name": sobject_type.name,
        "keyPrefix": sobject_type.prefix,
        "createable": "create" in sobject_type.calls,
        "updateable": "update" in sobject_type.calls,
        "deletable": "delete" in sobject_type.calls,
        "queryable": True,
        "fields": fields,
    }


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _ALPHABET[rest] + digits
    return digits.rjust(width, "0")


def id_suffix(id15: str) -> str:
    """Salesforce's 3-character case checksum that turns a 15-character Id into 18."""
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())
        suffix += _SUFFIX[bits]
    return suffix


class IdFactory:
    """Makes 18-character Ids that look and check like real ones."""

    def __init__(self, pod: str = "5g0") -> None:
        self._counter = count(1)
        self._pod = pod

    def new(self, prefix: str) -> str:
        """A fresh Id of the object with key prefix ``prefix``."""
        id15 = prefix + self._pod + _base62(next(self._counter), 9)
        return id15 + id_suffix(id15)

"""Every SOQL statement the layer sends; values go in only through ``format_soql``."""

from __future__ import annotations

from collections.abc import Sequence

from simple_salesforce.format import format_soql

from salesforce.models import CUSTOMIZE_APPLICATION, GrantKind, Power

LICENSES = (
    "SELECT Id, Name, MasterLabel, LicenseDefinitionKey, Status, TotalLicenses, UsedLicenses "
    "FROM UserLicense WHERE Status = 'Active'"
)
PROFILES = "SELECT Id, Name, UserLicenseId, UserLicense.Name, UserType FROM Profile ORDER BY Name"
ROLES = (
    "SELECT Id, Name, DeveloperName, ParentRoleId, PortalType FROM UserRole "
    "WHERE PortalType = 'None' ORDER BY Name"
)
PERMISSION_SETS = (
    "SELECT Id, Name, Label, LicenseId, IsCustom FROM PermissionSet "
    "WHERE IsOwnedByProfile = false AND PermissionSetGroupId = null"
)
GROUPS = "SELECT Id, DeveloperName, MasterLabel, Status FROM PermissionSetGroup"
ORGANIZATION = "SELECT Id, Name, IsSandbox, OrganizationType FROM Organization"
USER_FIELDS = "Id, Username, IsActive, ProfileId, UserRoleId, FederationIdentifier, Email"
PERMISSIONS = (
    "PermissionsApiEnabled",
    "PermissionsViewSetup",
    "PermissionsManageUsers",
    "PermissionsManageInternalUsers",
    "PermissionsAssignPermissionSets",
    "PermissionsFreezeUsers",
    "PermissionsManageRoles",
    "PermissionsTransferAnyEntity",
    "PermissionsModifyAllData",
)


def _who(prefix: str, username: str, federation_id: str | None) -> str:
    """A filter on Username (and FederationIdentifier), through ``prefix`` (e.g. ``User.``)."""
    if federation_id:
        return format_soql(
            "({p:literal}Username = {username} OR {p:literal}FederationIdentifier = {fed})",
            p=prefix,
            username=username,
            fed=federation_id,
        )
    return format_soql("{p:literal}Username = {username}", p=prefix, username=username)


def users_named(username: str, federation_id: str | None = None) -> str:
    """Users with this Username or FederationIdentifier."""
    return format_soql(
        "SELECT {fields:literal} FROM User WHERE {where:literal}",
        fields=USER_FIELDS,
        where=_who("", username, federation_id),
    )


def logins_named(username: str, federation_id: str | None = None) -> str:
    """UserLogin rows of the users with this Username or FederationIdentifier."""
    return format_soql(
        "SELECT Id, UserId, IsFrozen FROM UserLogin WHERE {where:literal}",
        where=_who("User.", username, federation_id),
    )


def assignments_named(username: str, federation_id: str | None = None) -> str:
    """Permission set assignments of the users with this Username or FederationIdentifier."""
    return format_soql(
        "SELECT Id, AssigneeId, PermissionSetId, PermissionSetGroupId "
        "FROM PermissionSetAssignment WHERE {where:literal}",
        where=_who("Assignee.", username, federation_id),
    )


def user_state_named(username: str) -> str:
    """The user with this Username, with CreatedDate (was it the bot's own create?)."""
    return format_soql(
        "SELECT {fields:literal}, CreatedDate, CreatedById FROM User WHERE Username = {username}",
        fields=USER_FIELDS,
        username=username,
    )


def user_state_by_id(user_id: str) -> str:
    """The user with this Id, with CreatedDate."""
    return format_soql(
        "SELECT {fields:literal}, CreatedDate, CreatedById FROM User WHERE Id = {user_id}",
        fields=USER_FIELDS,
        user_id=user_id,
    )


_HELD = (
    "SELECT Id, AssigneeId, PermissionSetId, PermissionSetGroupId{expiry:literal} "
    "FROM PermissionSetAssignment WHERE {who:literal} AND PermissionSet.IsOwnedByProfile = false"
)
# Only an org with assignment expiration has the column; naming it elsewhere is an error.
_EXPIRY = ", ExpirationDate"


def held_assignments_of(user_id: str, *, with_expiry: bool = False) -> str:
    """Assignments no profile owns, of the user with this Id (and their ExpirationDate)."""
    return format_soql(
        _HELD,
        expiry=_EXPIRY if with_expiry else "",
        who=format_soql("AssigneeId = {id}", id=user_id),
    )


def held_assignments_named(username: str, *, with_expiry: bool = False) -> str:
    """Assignments no profile owns, of the user with this Username (and their ExpirationDate)."""
    return format_soql(
        _HELD,
        expiry=_EXPIRY if with_expiry else "",
        who=format_soql("Assignee.Username = {u}", u=username),
    )


def user_by_id(user_id: str) -> str:
    """The user with this Id."""
    return format_soql(
        "SELECT {fields:literal} FROM User WHERE Id = {user_id}",
        fields=USER_FIELDS,
        user_id=user_id,
    )


def logins_of(user_ids: Sequence[str]) -> str:
    """UserLogin rows of these users."""
    return format_soql(
        "SELECT Id, UserId, IsFrozen FROM UserLogin WHERE UserId IN {ids}", ids=list(user_ids)
    )


def last_logins(user_ids: Sequence[str]) -> str:
    """When each of these users last logged in (LastLoginDate; null: never)."""
    return format_soql("SELECT Id, LastLoginDate FROM User WHERE Id IN {ids}", ids=list(user_ids))


def removable_assignments(user_ids: Sequence[str]) -> str:
    """Permission set (and group) assignments of these users that no profile owns."""
    return format_soql(
        "SELECT Id, AssigneeId FROM PermissionSetAssignment "
        "WHERE AssigneeId IN {ids} AND PermissionSet.IsOwnedByProfile = false",
        ids=list(user_ids),
    )


def active_users(profile_ids: Sequence[str]) -> str:
    """Active users holding one of these profiles."""
    return format_soql(
        "SELECT {fields:literal} FROM User WHERE IsActive = true AND ProfileId IN {ids} "
        "ORDER BY Username",
        fields=USER_FIELDS,
        ids=list(profile_ids),
    )


def permissions_of(user_id: str) -> str:
    """The permission flags of every set (the profile's included) assigned to a user."""
    return format_soql(
        "SELECT Id, {fields:literal} FROM PermissionSetAssignment WHERE AssigneeId = {user_id}",
        fields=", ".join("PermissionSet." + p for p in PERMISSIONS),
        user_id=user_id,
    )


_POWERS_WHERE = {
    # A profile's permissions live on the permission set it owns.
    GrantKind.PROFILE: "IsOwnedByProfile = true AND ProfileId = {id}",
    GrantKind.PERMISSION_SET: "Id = {id}",
    # A group's permissions add up on its aggregate permission set.
    GrantKind.GROUP: "PermissionSetGroupId = {id}",
}


def powers_of(kind: GrantKind, record_id: str) -> str:
    """The powerful permission flags of a profile (its owning set), a set or a group's aggregate."""
    return format_soql(
        "SELECT Id, {fields:literal} FROM PermissionSet WHERE {where:literal}",
        fields=", ".join((*Power, CUSTOMIZE_APPLICATION)),
        where=format_soql(_POWERS_WHERE[kind], id=record_id),
    )


def powers_of_sets(set_ids: Sequence[str], group_ids: Sequence[str]) -> str:
    """The powerful permission flags of these permission sets and groups' aggregates, at once."""
    where = []
    if set_ids:
        where.append(format_soql("Id IN {ids}", ids=list(set_ids)))
    if group_ids:
        where.append(format_soql("PermissionSetGroupId IN {ids}", ids=list(group_ids)))
    return format_soql(
        "SELECT Id, PermissionSetGroupId, {fields:literal} FROM PermissionSet "
        "WHERE {where:literal}",
        fields=", ".join((*Power, CUSTOMIZE_APPLICATION)),
        where=" OR ".join(where),
    )


def profile_of(user_id: str) -> str:
    """The profile of the user with this Id."""
    return format_soql("SELECT Id, ProfileId FROM User WHERE Id = {id}", id=user_id)


def assignments_of(user_id: str) -> str:
    """Every permission set and group assigned to the user with this Id."""
    return format_soql(
        "SELECT Id, PermissionSetId, PermissionSetGroupId FROM PermissionSetAssignment "
        "WHERE AssigneeId = {id}",
        id=user_id,
    )

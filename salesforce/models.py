"""Frozen models the Salesforce layer returns: catalog records, users and outcomes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class UserLicense(_Frozen):
    """A Salesforce User License with its seat counts."""

    id: str
    name: str
    master_label: str = ""
    total: int = 0
    used: int = 0

    @property
    def free(self) -> int:
        """Seats left to assign."""
        return max(self.total - self.used, 0)


class Profile(_Frozen):
    """A profile; its license decides which users it may be given to."""

    id: str
    name: str
    license_id: str
    license_name: str = ""
    user_type: str = "Standard"


class Role(_Frozen):
    """An internal (non-portal) role."""

    id: str
    name: str
    developer_name: str
    parent_role_id: str | None = None


class PermissionSet(_Frozen):
    """An assignable permission set (not profile-owned, not a group's aggregate)."""

    id: str
    name: str
    label: str
    license_id: str | None = None
    is_custom: bool = False


class PermissionSetGroup(_Frozen):
    """A permission set group."""

    id: str
    developer_name: str
    label: str
    status: str = "Updated"


class Catalog(_Frozen):
    """Everything a request can pick from, as read from the org at ``refreshed_at``."""

    licenses: tuple[UserLicense, ...] = ()
    profiles: tuple[Profile, ...] = ()
    roles: tuple[Role, ...] = ()
    permission_sets: tuple[PermissionSet, ...] = ()
    permission_set_groups: tuple[PermissionSetGroup, ...] = ()
    refreshed_at: datetime | None = None
    # Whether the org lets assignments carry an ExpirationDate (``salesforce.expiration``).
    assignment_expiry: bool = False

    def license_named(self, name: str) -> UserLicense | None:
        """The license called ``name`` (its Name or MasterLabel)."""
        return next((lic for lic in self.licenses if name in (lic.name, lic.master_label)), None)

    def profile_named(self, name: str) -> Profile | None:
        """The profile called ``name``."""
        return next((p for p in self.profiles if p.name == name), None)

    def role_named(self, name: str) -> Role | None:
        """The role whose DeveloperName (or Name) is ``name``."""
        return next((r for r in self.roles if name in (r.developer_name, r.name)), None)

    def permission_set_named(self, name: str) -> PermissionSet | None:
        """The permission set whose API Name (or Label) is ``name``."""
        return next((p for p in self.permission_sets if name in (p.name, p.label)), None)

    def group_named(self, name: str) -> PermissionSetGroup | None:
        """The permission set group whose DeveloperName (or label) is ``name``."""
        return next(
            (g for g in self.permission_set_groups if name in (g.developer_name, g.label)), None
        )


class UserSpec(_Frozen):
    """What the bot wants a Salesforce user to look like after provisioning."""

    username: str
    email: str
    first_name: str = ""
    last_name: str
    alias: str = Field(max_length=8)
    time_zone: str = "America/Los_Angeles"
    locale: str = "en_US"
    language: str = "en_US"
    email_encoding: str = "UTF-8"
    profile_id: str
    role_id: str | None = None
    federation_id: str | None = None
    permission_set_ids: tuple[str, ...] = ()
    permission_set_group_ids: tuple[str, ...] = ()
    extra_fields: dict[str, str | int | bool] = Field(default_factory=dict)
    # Permission set or group Id -> when Salesforce itself ends that assignment.
    expirations: dict[str, datetime] = Field(default_factory=dict)


class SalesforceUser(_Frozen):
    """A user as found in the org."""

    id: str
    username: str
    is_active: bool
    profile_id: str | None = None
    role_id: str | None = None
    federation_id: str | None = None
    email: str | None = None


class ProvisionAction(StrEnum):
    """What provisioning had to do to reach the wanted state."""

    CREATED = "created"
    REACTIVATED = "reactivated"
    UPDATED = "updated"


class ProvisionResult(_Frozen):
    """A user who now holds the requested access."""

    user_id: str
    username: str
    action: ProvisionAction
    assigned: tuple[str, ...] = ()
    api_calls: int = 0


class Blocker(StrEnum):
    """Why Salesforce refused to deactivate a user."""

    DEFAULT_CASE_OWNER = "default_case_owner"
    DEFAULT_WORKFLOW_USER = "default_workflow_user"
    LEAD_SETTINGS = "lead_settings"
    CASE_RULES = "case_rules"
    APPROVER = "approver"
    HIERARCHY_FIELD = "hierarchy_field"
    PORTAL_ADMIN = "portal_admin"
    LAST_ADMIN = "last_admin"
    UNKNOWN = "unknown"


class Deactivated(_Frozen):
    """The user is inactive now (or already was)."""

    user_id: str
    already_inactive: bool = False
    removed_assignments: int = 0


class DeactivationBlocked(_Frozen):
    """Salesforce kept the user active; they are frozen until an admin clears the blocker."""

    user_id: str
    blocker: Blocker
    explanation: str
    fix: str
    raw_message: str
    frozen: bool
    setup: tuple[str, ...] = ()  # the Setup paths where the blocker changes


DeactivationOutcome = Deactivated | DeactivationBlocked


class UserState(_Frozen):
    """A user as Salesforce holds it now: what the converger compares with the desired state."""

    id: str
    username: str
    email: str | None = None
    is_active: bool
    profile_id: str | None = None
    role_id: str | None = None
    frozen: bool = False
    login_id: str | None = None
    # Permission set or group Id -> its PermissionSetAssignment (profile-owned ones left out).
    assignments: dict[str, str] = Field(default_factory=dict)
    # Permission set or group Id -> its ExpirationDate; None when not read (the org has none).
    expirations: dict[str, datetime | None] | None = None
    created_at: datetime | None = None
    created_by_id: str | None = None


class UserChange(_Frozen):
    """What one user needs to reach its desired state; empty when it is there already."""

    user_id: str
    fields: dict[str, str | int | bool | None] = Field(default_factory=dict)
    frozen: bool | None = None
    login_id: str | None = None
    assign: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()  # PermissionSetAssignment record Ids
    # Permission set or group Id -> the ExpirationDate its new assignment gets.
    expires: dict[str, datetime] = Field(default_factory=dict)
    # PermissionSetAssignment record Id -> its new ExpirationDate (None: no end).
    reexpire: dict[str, datetime | None] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Nothing to send."""
        return not (
            self.fields or self.frozen is not None or self.assign or self.remove or self.reexpire
        )

    @property
    def deactivates(self) -> bool:
        """The change makes the user inactive (Salesforce may refuse: blockers)."""
        return self.fields.get("IsActive") is False


class ChangeApplied(_Frozen):
    """Salesforce took the whole change."""

    user_id: str
    assigned: tuple[str, ...] = ()
    removed: int = 0


ChangeOutcome = ChangeApplied | DeactivationBlocked


class ApiBudget(_Frozen):
    """Daily API requests used and allowed, from the last Sforce-Limit-Info header."""

    used: int
    total: int

    @property
    def remaining(self) -> int:
        """Requests left in the rolling 24 h window."""
        return max(self.total - self.used, 0)


class OrgIdentity(_Frozen):
    """Which org the bot is connected to, and as whom."""

    org_id: str
    org_name: str
    is_sandbox: bool
    integration_username: str


class Power(StrEnum):
    """A permission that hands over the whole org (its PermissionSet field name)."""

    MODIFY_ALL_DATA = "PermissionsModifyAllData"
    VIEW_ALL_DATA = "PermissionsViewAllData"
    MANAGE_USERS = "PermissionsManageUsers"
    AUTHOR_APEX = "PermissionsAuthorApex"

    @property
    def label(self) -> str:
        """The permission's name in Setup."""
        return _POWER_LABELS[self]


_POWER_LABELS = {
    Power.MODIFY_ALL_DATA: "Modify All Data",
    Power.VIEW_ALL_DATA: "View All Data",
    Power.MANAGE_USERS: "Manage Users",
    Power.AUTHOR_APEX: "Author Apex",
}


# Read with the powers: a permission that makes a grant high risk without handing over the org.
CUSTOMIZE_APPLICATION = "PermissionsCustomizeApplication"


class GrantKind(StrEnum):
    """The records that carry permissions a request can hand out."""

    PROFILE = "profile"
    PERMISSION_SET = "permission_set"
    GROUP = "group"


class GrantPowers(_Frozen):
    """What one permission set or group grants of the org-wide powers, read just now."""

    kind: GrantKind
    record_id: str
    powers: tuple[Power, ...] = ()
    customizes_application: bool = False


class RecordPowers(_Frozen):
    """What one profile, permission set or group grants of the org-wide powers, read just now."""

    kind: GrantKind
    record_id: str
    powers: tuple[Power, ...] = ()
    # The user the bot signs in as holds this record (its profile or one of its assignments).
    integration_user_holds: bool = False
    # Customize Application: changes the org's setup; not a takeover, but high risk.
    customizes_application: bool = False

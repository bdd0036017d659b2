"""Setting up a simulated org as an admin would: licenses, profiles, roles, sets, users."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.sandbox import sf_rules
from bot.sandbox.sf_auth import ConnectedApp, OrgAuth
from bot.sandbox.sf_records_setup import RecordSetup
from bot.sandbox.sf_seed import seed_demo
from bot.sandbox.sf_store import Store


class OrgSetup(RecordSetup):
    """The org's records and the admin actions that create them (no API calls, thread-safe)."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = Store(clock)
        self.auth = OrgAuth(self.store)
        self.integration_username: str | None = None
        self._lock = threading.RLock()
        self._license_types: dict[str, str] = {}

    def seed_demo(self) -> None:
        """Load the demo org (see ``sf_seed``)."""
        with self._lock:
            seed_demo(self)

    def set_organization(self, name: str, *, is_sandbox: bool = False) -> str:
        """Create (or rename) the Organization record."""
        with self._lock:
            for row in self.store.rows("Organization"):
                row.update(Name=name, IsSandbox=is_sandbox)
                return str(row["Id"])
            return self.store.insert(
                "Organization",
                {
                    "Name": name,
                    "IsSandbox": is_sandbox,
                    "OrganizationType": "Enterprise Edition",
                    "InstanceName": "SIM1",
                },
            )

    def add_license(
        self,
        name: str,
        total: int,
        *,
        master_label: str | None = None,
        key: str | None = None,
        user_type: str = "Standard",
    ) -> str:
        """A UserLicense with ``total`` seats (its user type decides which users fit)."""
        with self._lock:
            license_id = self.store.insert(
                "UserLicense",
                {
                    "Name": name,
                    "MasterLabel": master_label or name,
                    "LicenseDefinitionKey": key or name.upper().replace(" ", "_"),
                    "Status": "Active",
                    "TotalLicenses": total,
                    "UsedLicenses": 0,
                },
            )
            self._license_types[license_id] = user_type
            return license_id

    def add_profile(self, name: str, license_id: str, *, permissions: tuple[str, ...] = ()) -> str:
        """A profile of ``license_id`` with its profile-owned permission set."""
        perms = dict.fromkeys(permissions, True)
        with self._lock:
            profile_id = self.store.insert(
                "Profile",
                {
                    "Name": name,
                    "UserLicenseId": license_id,
                    "UserType": self._license_types.get(license_id, "Standard"),
                    **perms,
                },
            )
            self.store.insert(
                "PermissionSet",
                {
                    "Name": "X" + profile_id,
                    "Label": name,
                    "IsOwnedByProfile": True,
                    "ProfileId": profile_id,
                    "IsCustom": False,
                    "Type": "Profile",
                    **perms,
                },
            )
            return profile_id

    def add_role(
        self, name: str, developer_name: str | None = None, *, parent_id: str | None = None
    ) -> str:
        """An internal role."""
        with self._lock:
            return self.store.insert(
                "UserRole",
                {
                    "Name": name,
                    "DeveloperName": developer_name or name.replace(" ", ""),
                    "ParentRoleId": parent_id,
                    "PortalType": "None",
                },
            )

    def add_permission_set(
        self,
        name: str,
        label: str | None = None,
        *,
        permissions: tuple[str, ...] = (),
        license_id: str | None = None,
    ) -> str:
        """An assignable permission set."""
        with self._lock:
            return self.store.insert(
                "PermissionSet",
                {
                    "Name": name,
                    "Label": label or name.replace("_", " "),
                    "LicenseId": license_id,
                    "IsCustom": True,
                    "IsOwnedByProfile": False,
                    "Type": "Regular",
                    **dict.fromkeys(permissions, True),
                },
            )

    def add_group(
        self,
        developer_name: str,
        label: str | None = None,
        *,
        permission_set_ids: tuple[str, ...] = (),
    ) -> str:
        """A permission set group and its aggregate permission set."""
        with self._lock:
            group_id = self.store.insert(
                "PermissionSetGroup",
                {
                    "DeveloperName": developer_name,
                    "MasterLabel": label or developer_name.replace("_", " "),
                    "Status": "Updated",
                },
            )
            members = [self.store.get("PermissionSet", i) or {} for i in permission_set_ids]
            perms = {
                k: True for m in members for k, v in m.items() if k.startswith("Permissions") and v
            }
            self.store.insert(
                "PermissionSet",
                {
                    "Name": f"{developer_name}_aggregate",
                    "Label": label or developer_name,
                    "IsOwnedByProfile": False,
                    "PermissionSetGroupId": group_id,
                    "Type": "Group",
                    **perms,
                },
            )
            return group_id

    def add_user(
        self,
        username: str,
        profile_id: str,
        *,
        last_name: str = "User",
        first_name: str = "",
        email: str | None = None,
        role_id: str | None = None,
        federation_id: str | None = None,
        active: bool = True,
        frozen: bool = False,
    ) -> str:
        """A user (seats and the other insert rules apply)."""
        values: dict[str, Any] = {
            "Username": username,
            "FirstName": first_name or None,
            "LastName": last_name,
            "Email": email or username,
            "Alias": (first_name[:1] + last_name)[:8].lower(),
            "TimeZoneSidKey": "America/Los_Angeles",
            "LocaleSidKey": "en_US",
            "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US",
            "ProfileId": profile_id,
            "UserRoleId": role_id,
            "FederationIdentifier": federation_id,
            "IsActive": active,
        }
        with self._lock:
            # Made in Setup long before the bot: an old CreatedDate, not by the API user.
            user_id = sf_rules.create_user(
                self.store, values, created_by=None, created="2024-01-15T09:00:00.000+0000"
            )
            login = self.store.login_of(user_id) if frozen else None
            if login is not None:
                login["IsFrozen"] = True
            return user_id

    def assign(self, user_id: str, permission_set_or_group_id: str) -> str:
        """Assign a permission set (0PS...) or a group (0PG...) to a user."""
        key = (
            "PermissionSetGroupId"
            if permission_set_or_group_id.startswith("0PG")
            else "PermissionSetId"
        )
        with self._lock:
            return sf_rules.create_assignment(
                self.store, {"AssigneeId": user_id, key: permission_set_or_group_id}
            )

    def register_app(
        self,
        consumer_key: str,
        *,
        consumer_secret: str | None = None,
        certificate_pem: str | None = None,
        run_as: str | None = None,
    ) -> None:
        """Allow JWT bearer (certificate) and/or client-credentials (secret, ``run_as``) grants."""
        self.auth.register_app(ConnectedApp(consumer_key, consumer_secret, certificate_pem, run_as))

    def set_password(self, username: str, password: str, security_token: str = "") -> None:
        """Credentials the legacy SOAP login() accepts."""
        self.auth.set_password(username, password + security_token)

    def admin_update(self, sobject: str, record_id: str, **fields: Any) -> None:
        """Change a record directly, as an admin in Setup would (no API call, no rules)."""
        with self._lock:
            row = self.store.get(sobject, record_id)
            if row is None:
                raise KeyError(record_id)
            row.update(fields)
            self.store.recount_seats()
            self.store.reindex()

    def record_login(self, user_id: str, at: datetime) -> None:
        """The user logged in at ``at``: Salesforce sets its read-only LastLoginDate."""
        with self._lock:
            row = self.store.get("User", user_id)
            if row is None:
                raise KeyError(user_id)
            row["LastLoginDate"] = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    def delete_in_setup(self, sobject: str, record_id: str) -> None:
        """Delete a profile, role or permission set as an admin in Setup would.

        Like Setup, it refuses a profile that users still hold.
        """
        with self._lock:
            if sobject == "Profile" and self.store.find("User", ProfileId=record_id):
                raise ValueError("You can't delete a profile that's assigned to users.")
            if self.store.get(sobject, record_id) is None:
                raise KeyError(record_id)
            self.store.delete(sobject, record_id)

    def id_of(self, sobject: str, name: str) -> str:
        """The Id of the record whose Name (or DeveloperName) is ``name``."""
        with self._lock:
            for row in self.store.rows(sobject):
                if name in (row.get("Name"), row.get("DeveloperName"), row.get("Username")):
                    return str(row["Id"])
        raise KeyError(f"{sobject} {name!r}")

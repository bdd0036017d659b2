"""The simulated org's tables: rows by object and Id, with snapshots for all-or-none rollbacks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.sf_schema import PERMISSION_FIELDS, IdFactory, SObjectType, build_schema

Tables = dict[str, dict[str, dict[str, Any]]]


@dataclass
class OrgPolicies:
    """Behaviour an admin (or a test) configures; not part of the data a rollback restores."""

    taken_elsewhere: set[str] = field(default_factory=set)
    blocks: dict[str, tuple[str, str]] = field(default_factory=dict)
    validation_rules: dict[str, str] = field(default_factory=dict)
    record_rules: dict[str, str] = field(default_factory=dict)  # record Id -> rule's message
    approver_blocks: set[str] = field(default_factory=set)  # blocked while approvals wait


class Store:
    """Rows of every object, keyed by 18-character Id, in insertion order."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock  # the org's time: when assignments expire
        self.schema: dict[str, SObjectType] = build_schema()
        self.ids = IdFactory()
        self.tables: Tables = {name: {} for name in self.schema}
        self.policies = OrgPolicies()

    def rows(self, sobject: str) -> list[dict[str, Any]]:
        """Every row of ``sobject``."""
        return list(self.tables[sobject].values())

    def get(self, sobject: str, record_id: str | None) -> dict[str, Any] | None:
        """The row with this Id (15- or 18-character form), if any."""
        if not record_id or not isinstance(record_id, str):
            return None
        table = self.tables.get(sobject, {})
        if len(record_id) == 15:
            return next((row for rid, row in table.items() if rid[:15] == record_id), None)
        return table.get(record_id)

    def type_of(self, record_id: str) -> SObjectType | None:
        """The object an Id belongs to, from its key prefix."""
        return next((t for t in self.schema.values() if record_id.startswith(t.prefix)), None)

    def insert(self, sobject: str, values: dict[str, Any]) -> str:
        """Store a new row (no rules applied) and return its Id."""
        sobject_type = self.schema[sobject]
        record_id = self.ids.new(sobject_type.prefix)
        row: dict[str, Any] = dict.fromkeys(sobject_type.fields)
        row.update(dict.fromkeys(sobject_type.extra_fields))
        row.update(values)
        row["Id"] = record_id
        self.tables[sobject][record_id] = row
        return record_id

    def delete(self, sobject: str, record_id: str) -> None:
        """Remove a row."""
        self.tables[sobject].pop(record_id, None)

    def find(self, sobject: str, **equals: Any) -> list[dict[str, Any]]:
        """Rows whose fields equal the given values."""
        return [
            row
            for row in self.tables[sobject].values()
            if all(row.get(k) == v for k, v in equals.items())
        ]

    def snapshot(self) -> Tables:
        """A deep copy of every table, to restore when an all-or-none request fails."""
        # Field values are scalars, so copying each row is a deep copy; copy.deepcopy took
        # tens of milliseconds per composite request once an org held a few thousand users.
        return {name: {rid: dict(row) for rid, row in t.items()} for name, t in self.tables.items()}

    def restore(self, tables: Tables) -> None:
        """Put back a snapshot."""
        self.tables = tables

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        """The user with this Username; usernames compare case-insensitively."""
        folded = username.casefold()
        return next(
            (u for u in self.tables["User"].values() if str(u["Username"]).casefold() == folded),
            None,
        )

    def license_of_profile(self, profile_id: str | None) -> dict[str, Any] | None:
        """The UserLicense row behind a profile."""
        profile = self.get("Profile", profile_id)
        return self.get("UserLicense", profile["UserLicenseId"]) if profile else None

    def active_seats(self, license_id: str) -> int:
        """How many active users hold a seat of this license."""
        return sum(
            1
            for user in self.tables["User"].values()
            if user["IsActive"] and (lic := self.license_of_profile(user["ProfileId"]))
            if lic["Id"] == license_id
        )

    def recount_seats(self) -> None:
        """Keep UserLicense.UsedLicenses equal to the active users on each license."""
        for lic in self.tables["UserLicense"].values():
            lic["UsedLicenses"] = self.active_seats(lic["Id"])

    def permissions_of(self, user_id: str) -> set[str]:
        """Every Permissions* flag the user holds through profile, sets and groups."""
        granted: set[str] = set()
        for psa in self.find("PermissionSetAssignment", AssigneeId=user_id):
            perm_set = self.get("PermissionSet", psa["PermissionSetId"])
            if perm_set:
                granted.update(p for p in PERMISSION_FIELDS if perm_set.get(p))
        return granted

    def login_of(self, user_id: str) -> dict[str, Any] | None:
        """The UserLogin row of a user."""
        return next(iter(self.find("UserLogin", UserId=user_id)), None)

    def assignment_names(self, user_id: str) -> tuple[str, ...]:
        """Names of the user's non-profile permission sets and groups, sorted."""
        names: list[str] = []
        for psa in self.find("PermissionSetAssignment", AssigneeId=user_id):
            group = self.get("PermissionSetGroup", psa["PermissionSetGroupId"])
            if group:
                names.append(str(group["DeveloperName"]))
                continue
            perm_set = self.get("PermissionSet", psa["PermissionSetId"])
            if perm_set and not perm_set["IsOwnedByProfile"]:
                names.append(str(perm_set["Name"]))
        return tuple(sorted(names))

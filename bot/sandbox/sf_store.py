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
        # Username (case-folded) -> User Id: a username check costs no scan of every user.
        self._usernames: dict[str, str] = {}

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
        if sobject == "User":
            self._usernames[str(row["Username"]).casefold()] = record_id
        return record_id

    def delete(self, sobject: str, record_id: str) -> None:
        """Remove a row."""
        row = self.tables[sobject].pop(record_id, None)
        if sobject == "User" and row is not None:
            self._usernames.pop(str(row["Username"]).casefold(), None)

    def renamed(self, old_username: str, user_id: str) -> None:
        """A user's Username changed from ``old_username``."""
        self._usernames.pop(old_username.casefold(), None)
        row = self.tables["User"][user_id]
        self._usernames[str(row["Username"]).casefold()] = user_id

    def reindex(self) -> None:
        """Index the usernames afresh (rows were restored or changed outside the rules)."""
        self._usernames = {
            str(row["Username"]).casefold(): rid for rid, row in self.tables["User"].items()
        }

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
        self.reindex()

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        """The user with this Username; usernames compare case-insensitively."""
        return self.tables["User"].get(self._usernames.get(username.casefold(), ""))

    def license_of_profile(self, profile_id: str | None) -> dict[str, Any] | None:
        """The UserLicense row behind a profile."""
        profile = self.get("Profile", profile_id)
        return self.get("UserLicense", profile["UserLicenseId"]) if profile else None

    def active_seats(self, license_id: str) -> int:
        """How many active users hold a seat of this license (its UsedLicenses, kept up to date
        by ``move_seat`` on every user insert and update, so a check costs no count)."""
        lic = self.get("UserLicense", license_id)
        return int(lic["UsedLicenses"] or 0) if lic else 0

    def seat_of(self, user: dict[str, Any]) -> str | None:
        """The Id of the license whose seat ``user`` holds (None while inactive)."""
        if not user.get("IsActive"):
            return None
        lic = self.license_of_profile(user.get("ProfileId"))
        return str(lic["Id"]) if lic else None

    def move_seat(self, before: str | None, after: str | None) -> None:
        """A user took (``before`` None), freed (``after`` None) or changed its seat: keep
        UsedLicenses of both licenses in step."""
        if before == after:
            return
        for license_id, change in ((before, -1), (after, 1)):
            lic = self.get("UserLicense", license_id)
            if lic is not None:
                lic["UsedLicenses"] = int(lic["UsedLicenses"] or 0) + change

    def recount_seats(self) -> None:
        """Count every license's seats afresh (after an admin changed rows outside the rules)."""
        used = dict.fromkeys(self.tables["UserLicense"], 0)
        for user in self.tables["User"].values():
            seat = self.seat_of(user)
            if seat in used:
                used[seat] += 1
        for license_id, lic in self.tables["UserLicense"].items():
            lic["UsedLicenses"] = used[license_id]

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

"""What the simulated org enforces on writes: required fields, seats, licenses, blockers, access."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.sandbox import sf_expiry
from bot.sandbox.sf_errors import SfApiError, invalid_field, method_not_allowed, not_found
from bot.sandbox.sf_schema import READ_ONLY_FIELDS
from bot.sandbox.sf_store import Store

USER_REQUIRED = (
    "Username",
    "LastName",
    "Email",
    "Alias",
    "TimeZoneSidKey",
    "LocaleSidKey",
    "EmailEncodingKey",
    "LanguageLocaleKey",
    "ProfileId",
)
DUPLICATE_USERNAME_MESSAGE = (
    "Duplicate Username.<br>The username already exists in this or another Salesforce "
    "organization. Usernames must be unique across all Salesforce organizations. To resolve, "
    "use a different username (it doesn't need to match the user's email address)."
)
PROFILE_LICENSE_MESSAGE = (
    "You can only assign profiles that are compatible with the user's license. Choose a "
    "profile with the same user license as the current profile."
)
_ALLOWED = {"create": "POST", "update": "PATCH", "delete": "DELETE"}


def _insufficient() -> SfApiError:
    return SfApiError(
        400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"
    )


def _require(store: Store, caller: str, *any_of: str) -> None:
    if not store.permissions_of(caller) & set(any_of):
        raise _insufficient()


def _clean(store: Store, sobject: str, body: dict[str, Any]) -> dict[str, Any]:
    """Canonical field names; unknown or read-only fields are refused as a real org does."""
    sobject_type = store.schema[sobject]
    values: dict[str, Any] = {}
    read_only: list[str] = []
    for key, value in body.items():
        if key in ("attributes", "id"):
            continue
        name = sobject_type.canonical_field(key)
        if name is None:
            raise invalid_field(key, sobject)
        if name in READ_ONLY_FIELDS:
            read_only.append(name)
        values[name] = value
    if read_only:
        raise SfApiError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(read_only)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
            tuple(read_only),
        )
    return values


def _check_allowed(store: Store, sobject: str, call: str) -> None:
    if call not in store.schema[sobject].calls:
        allowed = ",".join(
            ["GET", "HEAD", *(_ALLOWED[c] for c in sorted(store.schema[sobject].calls))]
        )
        raise method_not_allowed(_ALLOWED[call], allowed)


def _check_profile(store: Store, values: dict[str, Any]) -> None:
    for field, target in (("ProfileId", "Profile"), ("UserRoleId", "UserRole")):
        if values.get(field) and store.get(target, values[field]) is None:
            raise SfApiError(
                400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", (field,)
            )
    profile = store.get("Profile", values.get("ProfileId"))
    # Internal users (no ContactId) hold Standard licenses; a portal profile does not fit.
    if profile is not None and profile["UserType"] != "Standard":
        raise SfApiError(400, "FIELD_INTEGRITY_EXCEPTION", PROFILE_LICENSE_MESSAGE, ("ProfileId",))


def _check_seat(store: Store, profile_id: str, *, already_holding: str | None = None) -> None:
    lic = store.license_of_profile(profile_id)
    if lic is None or lic["Id"] == already_holding:
        return
    if store.active_seats(lic["Id"]) >= lic["TotalLicenses"]:
        raise SfApiError(400, "LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded")


def _check_username(store: Store, username: str, self_id: str | None = None) -> None:
    if "@" not in username:
        raise SfApiError(
            400,
            "INVALID_EMAIL_ADDRESS",
            f"Username: invalid email address: {username}",
            ("Username",),
        )
    other = store.user_by_username(username)
    taken = {u.casefold() for u in store.policies.taken_elsewhere}
    if (other is not None and other["Id"] != self_id) or username.casefold() in taken:
        raise SfApiError(400, "DUPLICATE_USERNAME", DUPLICATE_USERNAME_MESSAGE, ("Username",))


def _sync_profile_assignment(
    store: Store, user_id: str, profile_id: str, *, new: bool = False
) -> None:
    owned = store.find("PermissionSet", ProfileId=profile_id, IsOwnedByProfile=True)
    # a new user holds no assignment yet: nothing to look through
    for psa in [] if new else store.find("PermissionSetAssignment", AssigneeId=user_id):
        perm_set = store.get("PermissionSet", psa["PermissionSetId"])
        if perm_set and perm_set["IsOwnedByProfile"]:
            store.delete("PermissionSetAssignment", psa["Id"])
    if owned:
        store.insert(
            "PermissionSetAssignment",
            {"AssigneeId": user_id, "PermissionSetId": owned[0]["Id"], "IsActive": True},
        )


def create_user(
    store: Store, values: dict[str, Any], *, created_by: str | None, created: str | None = None
) -> str:
    """Insert a User after every check a real org makes; returns the new Id.

    ``created_by`` is the API caller (None: set up in Setup by the org's first user);
    ``created`` a CreatedDate for users that predate the test (default: now).
    """
    missing = [f for f in USER_REQUIRED if values.get(f) in (None, "")]
    if missing:
        raise SfApiError(
            400,
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            tuple(missing),
        )
    if len(str(values["Alias"])) > 8:
        raise SfApiError(
            400,
            "STRING_TOO_LONG",
            f"Alias: data value too large: {values['Alias']} (max length=8)",
            ("Alias",),
        )
    for field, message in store.policies.validation_rules.items():
        if values.get(field) in (None, ""):
            raise SfApiError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", message, (field,))
    _check_username(store, str(values["Username"]))
    _check_profile(store, values)
    values.setdefault("IsActive", True)
    if values["IsActive"]:
        _check_seat(store, values["ProfileId"])
    name = f"{values.get('FirstName') or ''} {values['LastName']}".strip()
    created = created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    first = next(iter(store.tables["User"].values()), None)
    user_id = store.insert(
        "User",
        {
            **values,
            "Name": name,
            "UserType": "Standard",
            "CreatedDate": created,
            "CreatedById": created_by or (first["Id"] if first else None),
            "LastLoginDate": None,  # never logged in yet
        },
    )
    store.insert("UserLogin", {"UserId": user_id, "IsFrozen": False, "IsPasswordLocked": False})
    _sync_profile_assignment(store, user_id, values["ProfileId"], new=True)
    store.move_seat(None, store.seat_of(store.tables["User"][user_id]))
    return user_id


def update_user(store: Store, user: dict[str, Any], values: dict[str, Any]) -> None:
    """Apply a User update: username, profile, activation and deactivation blockers."""
    if "Username" in values:
        _check_username(store, str(values["Username"]), user["Id"])
    profile_id = values.get("ProfileId") or user["ProfileId"]
    _check_profile(store, {**values, "ProfileId": profile_id})
    will_be_active = values.get("IsActive", user["IsActive"])
    if will_be_active and not user["IsActive"]:
        _check_seat(store, profile_id)
    elif will_be_active and profile_id != user["ProfileId"]:
        current = store.license_of_profile(user["ProfileId"])
        _check_seat(store, profile_id, already_holding=current["Id"] if current else None)
    if user["IsActive"] and values.get("IsActive") is False and user["Id"] in store.policies.blocks:
        message, code = store.policies.blocks[user["Id"]]
        raise SfApiError(400, code, message)
    if user["IsActive"] and values.get("IsActive") is False and _approver_blocked(store, user):
        raise SfApiError(400, "FIELD_INTEGRITY_EXCEPTION", APPROVER_BLOCK_MESSAGE)
    old_profile = user["ProfileId"]
    held = store.seat_of(user)
    old_username = str(user["Username"])
    user.update(values)
    if user["Username"] != old_username:
        store.renamed(old_username, user["Id"])
    if "FirstName" in values or "LastName" in values:
        user["Name"] = f"{user.get('FirstName') or ''} {user['LastName']}".strip()
    if user["ProfileId"] != old_profile:
        _sync_profile_assignment(store, user["Id"], user["ProfileId"])
    store.move_seat(held, store.seat_of(user))


def create_assignment(store: Store, values: dict[str, Any]) -> str:
    """Assign a permission set or group; a repeat is DUPLICATE_VALUE."""
    assignee = store.get("User", values.get("AssigneeId"))
    set_id, group_id = values.get("PermissionSetId"), values.get("PermissionSetGroupId")
    if not values.get("AssigneeId") or not (set_id or group_id):
        missing = ["AssigneeId"] if not values.get("AssigneeId") else ["PermissionSetId"]
        raise SfApiError(
            400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", tuple(missing)
        )
    if assignee is None:
        raise SfApiError(
            400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ("AssigneeId",)
        )
    if group_id:
        group = store.get("PermissionSetGroup", group_id)
        aggregate = store.find("PermissionSet", PermissionSetGroupId=group["Id"]) if group else []
        if not aggregate:
            raise SfApiError(
                400,
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
                ("PermissionSetGroupId",),
            )
        set_id, group_id = aggregate[0]["Id"], group["Id"] if group else None
    perm_set = store.get("PermissionSet", set_id)
    if perm_set is None or perm_set["IsOwnedByProfile"]:
        raise SfApiError(
            400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ("PermissionSetId",)
        )
    if store.find(
        "PermissionSetAssignment", AssigneeId=assignee["Id"], PermissionSetId=perm_set["Id"]
    ):
        raise SfApiError(400, "DUPLICATE_VALUE", "Duplicate PermissionSetAssignment")
    expiring = sf_expiry.checked(values, store.clock())
    return store.insert(
        "PermissionSetAssignment",
        {
            "AssigneeId": assignee["Id"],
            "PermissionSetId": perm_set["Id"],
            "PermissionSetGroupId": group_id,
            "IsActive": True,
            **{k: v for k, v in expiring.items() if k == sf_expiry.EXPIRATION_DATE},
        },
    )


def update_assignment(store: Store, row: dict[str, Any], values: dict[str, Any]) -> None:
    """Of an assignment only ExpirationDate changes (the field exists when the setting is on)."""
    for name in values:
        if name != sf_expiry.EXPIRATION_DATE:
            raise SfApiError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {name}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or "
                "permission set.",
                (name,),
            )
    row.update(sf_expiry.checked(values, store.clock()))


APPROVER_BLOCK_MESSAGE = (
    "This user is already in an approval process or designated as an approver. Reassign "
    "their pending approval requests before deactivating them."
)


def _approver_blocked(store: Store, user: dict[str, Any]) -> bool:
    """A user the org blocks while approval work items still wait on them."""
    if user["Id"] not in store.policies.approver_blocks:
        return False
    return any(
        str(item["ActorId"])[:15] == str(user["Id"])[:15]
        for item in store.rows("ProcessInstanceWorkitem")
    )


INACTIVE_OWNER_MESSAGE = "operation performed with inactive user"


def _check_user_reference(store: Store, field: str, user_id: Any) -> None:
    """A lookup to a user must name an active user (owners and approvers alike)."""
    user = store.get("User", user_id) if isinstance(user_id, str) else None
    if user is None:
        raise SfApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", (field,))
    if not user["IsActive"]:
        raise SfApiError(400, "INACTIVE_OWNER_OR_USER", INACTIVE_OWNER_MESSAGE, ())


def update_held_record(store: Store, row: dict[str, Any], values: dict[str, Any]) -> None:
    """A record's new owner, or an approval work item's new approver (ActorId)."""
    for name, value in values.items():
        if name in ("OwnerId", "ActorId"):
            _check_user_reference(store, name, value)
        elif name in ("OriginalActorId", "ProcessInstanceId"):
            raise SfApiError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {name}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or "
                "permission set.",
                (name,),
            )
    rule = store.policies.record_rules.get(str(row["Id"]))
    if rule is not None:
        raise SfApiError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", rule, ())
    row.update(values)


def create(store: Store, caller: str, sobject: str, body: dict[str, Any]) -> str:
    """POST /sobjects/{sobject}: insert one record under the caller's permissions."""
    _check_allowed(store, sobject, "create")
    values = _clean(store, sobject, body)
    if sobject == "User":
        _require(store, caller, "PermissionsManageUsers", "PermissionsManageInternalUsers")
        return create_user(store, values, created_by=caller)
    _require(store, caller, "PermissionsAssignPermissionSets")
    return create_assignment(store, values)


def update(store: Store, caller: str, sobject: str, record_id: str, body: dict[str, Any]) -> None:
    """PATCH /sobjects/{sobject}/{id}."""
    _check_allowed(store, sobject, "update")
    row = store.get(sobject, record_id)
    if row is None:
        raise not_found()
    values = _clean(store, sobject, body)
    if sobject == "User":
        _require(store, caller, "PermissionsManageUsers", "PermissionsManageInternalUsers")
        update_user(store, row, values)
        return
    if sobject == sf_expiry.ASSIGNMENT:
        _require(store, caller, "PermissionsAssignPermissionSets")
        update_assignment(store, row, values)
        return
    if sobject == "ProcessInstanceWorkitem" or "OwnerId" in store.schema[sobject].fields:
        _require(store, caller, "PermissionsTransferAnyEntity", "PermissionsModifyAllData")
        update_held_record(store, row, values)
        return
    _require(store, caller, "PermissionsFreezeUsers", "PermissionsManageUsers")
    for name in values:
        if name not in ("IsFrozen", "IsPasswordLocked"):
            raise invalid_field(name, sobject)
    if values.get("IsPasswordLocked") is True:
        raise SfApiError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "IsPasswordLocked can only be set to false",
            ("IsPasswordLocked",),
        )
    row.update(values)


def delete(store: Store, caller: str, sobject: str, record_id: str) -> None:
    """DELETE /sobjects/{sobject}/{id} (only permission set assignments can be deleted)."""
    _check_allowed(store, sobject, "delete")
    row = store.get(sobject, record_id)
    if row is None:
        raise not_found()
    _require(store, caller, "PermissionsAssignPermissionSets")
    perm_set = store.get("PermissionSet", row["PermissionSetId"])
    if perm_set and perm_set["IsOwnedByProfile"]:
        raise SfApiError(
            400, "DELETE_FAILED", "You can't remove a permission set assignment owned by a profile."
        )
    store.delete(sobject, row["Id"])

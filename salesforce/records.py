"""Query records parsed into typed rows at the boundary."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from salesforce.models import SalesforceUser

_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def is_salesforce_id(value: str) -> bool:
    """True for a well-formed 15- or 18-character Id (safe to put in a URL path)."""
    return bool(_ID.match(value))


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class UserRow(_Row):
    """A User record."""

    id: str = Field(alias="Id")
    username: str = Field(alias="Username")
    is_active: bool = Field(alias="IsActive")
    profile_id: str | None = Field(None, alias="ProfileId")
    role_id: str | None = Field(None, alias="UserRoleId")
    federation_id: str | None = Field(None, alias="FederationIdentifier")
    email: str | None = Field(None, alias="Email")
    created_date: str | None = Field(None, alias="CreatedDate")
    created_by_id: str | None = Field(None, alias="CreatedById")

    def to_user(self) -> SalesforceUser:
        """The public model."""
        return SalesforceUser(
            id=self.id,
            username=self.username,
            is_active=self.is_active,
            profile_id=self.profile_id,
            role_id=self.role_id,
            federation_id=self.federation_id,
            email=self.email,
        )


class LastLoginRow(_Row):
    """A User's Id and LastLoginDate (null: never logged in)."""

    id: str = Field(alias="Id")
    last_login: str | None = Field(None, alias="LastLoginDate")


class LoginRow(_Row):
    """A UserLogin record."""

    id: str = Field(alias="Id")
    user_id: str = Field(alias="UserId")
    is_frozen: bool = Field(False, alias="IsFrozen")


class AssignmentRow(_Row):
    """A PermissionSetAssignment record."""

    id: str = Field(alias="Id")
    assignee_id: str = Field(alias="AssigneeId")
    permission_set_id: str | None = Field(None, alias="PermissionSetId")
    group_id: str | None = Field(None, alias="PermissionSetGroupId")
    expiration_date: str | None = Field(None, alias="ExpirationDate")


class ActiveFlagRow(_Row):
    """Just a record's Id and IsActive."""

    id: str = Field(alias="Id")
    is_active: bool = Field(alias="IsActive")

"""The access policy: who owns and administers each application and what may be requested.

Loaded from YAML by ``bot`` and validated here; names are Salesforce Names / DeveloperNames,
never Ids, so one policy works on a sandbox and in production.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from salesforce.holdings import DEFAULT_OBJECTS, MAX_OBJECTS, STANDARD_OBJECTS, held_object

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")

UserId = Annotated[str, Field(pattern=SLACK_USER_ID.pattern)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Timings(_Strict):
    """How long things wait. Every value accepts seconds or an ISO 8601 duration."""

    first_reminder_after: timedelta = timedelta(hours=4)
    reminder_backoff: float = Field(default=2.0, ge=1.0)
    reminders_before_escalation: int = Field(default=3, ge=0)
    pending_expires_after: timedelta = timedelta(days=7)
    expiry_warning_before: timedelta = timedelta(days=1)
    retry_base_delay: timedelta = timedelta(seconds=30)
    retry_max_attempts: int = Field(default=5, ge=1)


class Offboarding(_Strict):
    """What the admins are shown that a leaving user holds."""

    # Records counted when the user is deactivated or the deactivation is blocked: standard
    # objects (Account, Contact, Opportunity, Lead, Case, Campaign) or custom ones (Name__c).
    objects: tuple[str, ...] = DEFAULT_OBJECTS

    @field_validator("objects")
    @classmethod
    def _known_objects(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if held_object(name) is None]
        if unknown:
            standard = ", ".join(STANDARD_OBJECTS)
            raise ValueError(
                f"unknown object {', '.join(repr(n) for n in unknown)}: name a standard object "
                f"({standard}) or a custom object's API name ending in __c"
            )
        names = tuple(dict.fromkeys(o.api_name for n in value if (o := held_object(n))))
        if len(names) > MAX_OBJECTS:
            raise ValueError(f"at most {MAX_OBJECTS} objects (every 5 cost one more API call)")
        return names


class Application(_Strict):
    """One requestable application: its people and its catalog slice."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
    display_name: str = ""
    owners: tuple[UserId, ...] = Field(min_length=1)
    admins: tuple[UserId, ...] = Field(min_length=1)
    approval_channel: str | None = None
    licenses: tuple[str, ...] = Field(min_length=1)
    profiles: tuple[str, ...] = Field(min_length=1)
    roles: tuple[str, ...] = ()
    require_role: bool = False
    permission_sets: tuple[str, ...] = ()
    permission_set_groups: tuple[str, ...] = ()
    durations_days: tuple[int | None, ...] = (None,)
    extra_user_fields: dict[str, str | int | bool] = Field(default_factory=dict)
    auto_revoke_drift: bool = False
    offboarding: Offboarding = Offboarding()

    @field_validator("approval_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not SLACK_CHANNEL_ID.match(value):
            raise ValueError("must be a Slack channel id such as C0123ABCD (not a #name)")
        return value

    @field_validator("durations_days")
    @classmethod
    def _durations(cls, value: tuple[int | None, ...]) -> tuple[int | None, ...]:
        if not value:
            raise ValueError("list at least one duration (days, or null for permanent)")
        if any(d is not None and d <= 0 for d in value):
            raise ValueError("durations are whole days above 0, or null for permanent")
        return value

    @property
    def title(self) -> str:
        """What people read."""
        return self.display_name or self.name

    def is_owner(self, user_id: str) -> bool:
        """May ``user_id`` decide requests of this application."""
        return user_id in self.owners

    def is_admin(self, user_id: str) -> bool:
        """May ``user_id`` fix, retry and revoke in this application."""
        return user_id in self.admins


class Policy(_Strict):
    """The whole access policy."""

    applications: tuple[Application, ...] = Field(min_length=1)
    timings: Timings = Timings()

    @model_validator(mode="after")
    def _unique_names(self) -> Policy:
        names = [app.name for app in self.applications]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"application names must be unique; repeated: {', '.join(dupes)}")
        return self

    def application(self, name: str) -> Application | None:
        """The application called ``name``."""
        return next((app for app in self.applications if app.name == name), None)

    @property
    def default_application(self) -> Application:
        """The first application, used when a request names none."""
        return self.applications[0]

    def is_admin_anywhere(self, user_id: str) -> bool:
        """Whether ``user_id`` administers any application."""
        return any(app.is_admin(user_id) for app in self.applications)

    def is_owner_anywhere(self, user_id: str) -> bool:
        """Whether ``user_id`` owns any application."""
        return any(app.is_owner(user_id) for app in self.applications)

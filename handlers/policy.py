"""The access policy: who owns and administers each application and what may be requested.

Loaded from YAML by ``bot`` and validated here; names are Salesforce Names / DeveloperNames,
never Ids, so one policy works on a sandbox and in production.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from handlers.approval_rules import (
    DEFAULT_RULE,
    BreakGlass,
    Stage,
    Tier,
    TierRule,
    people_or_groups,
)
from handlers.durations import parse_iso_duration
from handlers.review_policy import Reviews
from salesforce.holdings import DEFAULT_OBJECTS, MAX_OBJECTS, STANDARD_OBJECTS, held_object

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")

# A grant shorter than this would end before the expiry job could notice it began.
_SHORTEST_DURATION = timedelta(minutes=1)

SLACK_USER_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")

UserId = Annotated[str, Field(pattern=SLACK_USER_ID.pattern)]
# The policy lists whose items may carry their own ``requesters``, as the YAML names them.
ITEM_LISTS = ("profiles", "roles", "permission_sets", "permission_set_groups")


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


MANAGER = "manager"


class Offboarding(_Strict):
    """What the admins are shown that a leaving user holds."""

    # Records counted when the user is deactivated or the deactivation is blocked: standard
    # objects (Account, Contact, Opportunity, Lead, Case, Campaign) or custom ones (Name__c).
    objects: tuple[str, ...] = DEFAULT_OBJECTS
    # Who takes a leaver's work over without asking, before the deactivation: "manager" (the
    # user's Salesforce Manager) or a Slack member id (who needs an active Salesforce user).
    # Absent: the admins choose with "Transfer to…" when a deactivation is blocked.
    transfer_to: str | None = None

    @field_validator("transfer_to")
    @classmethod
    def _known_target(cls, value: str | None) -> str | None:
        if value is None or value == MANAGER or SLACK_USER_ID.fullmatch(value):
            return value
        raise ValueError(
            f"transfer_to is {value!r}: write manager (the leaver's Salesforce Manager), a Slack "
            "member id such as U012ABCDEF, or leave it out to let the admins choose"
        )

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
    # Requests reaching the same owner within this long share one message (a list with
    # Approve / Deny per line and Approve all); unset: one message per request.
    cohort_window: timedelta | None = Field(default=None, gt=timedelta(0))
    licenses: tuple[str, ...] = Field(min_length=1)
    profiles: tuple[str, ...] = Field(min_length=1)
    roles: tuple[str, ...] = ()
    require_role: bool = False
    permission_sets: tuple[str, ...] = ()
    permission_set_groups: tuple[str, ...] = ()
    durations: tuple[timedelta | None, ...] = (None,)
    durations_days: tuple[int | None, ...] | None = Field(default=None, exclude=True)
    extra_user_fields: dict[str, str | int | bool] = Field(default_factory=dict)
    auto_revoke_drift: bool = False
    offboarding: Offboarding = Offboarding()
    # Periodic access reviews (None: only started by hand, with the defaults of ``Reviews``).
    reviews: Reviews | None = None
    # None: everyone may ask. Otherwise only these members and user groups may.
    requesters: tuple[str, ...] | None = None
    # Items restricted further: list name -> item name -> requesters (from ``{name, requesters}``
    # entries of profiles, roles, permission_sets and permission_set_groups).
    item_requesters: dict[str, dict[str, tuple[str, ...]]] = Field(
        default_factory=dict, exclude=True
    )
    # Items of another tier than standard: list name -> item name -> tier (``{name, tier}``).
    item_tiers: dict[str, dict[str, Tier]] = Field(default_factory=dict, exclude=True)
    # Any permission set (or group) granting org-wide powers is high, whatever it says.
    high_if_powerful: bool = False
    # How each tier is approved; a tier not listed: one owner, as without tiers.
    tiers: dict[Tier, TierRule] = Field(default_factory=dict)
    break_glass: BreakGlass | None = None

    @model_validator(mode="before")
    @classmethod
    def _restricted_items(cls, data: Any) -> Any:
        # ``- {name: Sales User, requesters: [S0SALES]}`` is the name, restricted to those people.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        restricted: dict[str, dict[str, tuple[str, ...]]] = {}
        tiers: dict[str, dict[str, object]] = {}
        problems: list[str] = []  # every wrong entry, named at once
        for field in ITEM_LISTS:
            entries = data.get(field)
            if not isinstance(entries, list | tuple):
                continue
            names: list[object] = []
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    names.append(entry)
                    continue
                where = f"{field}[{i}]"
                unknown = sorted(set(entry) - {"name", "requesters", "tier"})
                if unknown or not isinstance(entry.get("name"), str):
                    problems.append(
                        f"{where}: write a name, or {{name: …, requesters: […]}}"
                        + (f" (unknown: {', '.join(map(str, unknown))})" if unknown else "")
                        + "; an entry may also give its tier: low, standard or high"
                    )
                    continue
                names.append(entry["name"])
                if "requesters" in entry:
                    try:
                        restricted.setdefault(field, {})[entry["name"]] = _requesters(
                            entry.get("requesters"), f"{where}.requesters"
                        )
                    except ValueError as error:
                        problems.append(str(error))
                if "tier" in entry:
                    if entry["tier"] in set(Tier):
                        tiers.setdefault(field, {})[entry["name"]] = Tier(entry["tier"])
                    else:
                        problems.append(
                            f"{where}.tier: {entry['tier']!r} is not low, standard or high"
                        )
            data[field] = tuple(names)
        if problems:
            raise ValueError("; ".join(problems))
        if restricted:
            data["item_requesters"] = restricted
        if tiers:
            data["item_tiers"] = tiers
        return data

    @field_validator("requesters", mode="before")
    @classmethod
    def _app_requesters(cls, value: Any) -> Any:
        return None if value is None else _requesters(value, "requesters")

    @model_serializer(mode="wrap")
    def _with_restricted_items(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for field in ITEM_LISTS:
            if field in data:
                data[field] = [self._item_entry(field, name) for name in data[field]]
        return data

    def _item_entry(self, field: str, name: str) -> str | dict[str, Any]:
        entry: dict[str, Any] = {"name": name}
        requesters = self.requesters_of(field, name)
        if requesters is not None:
            entry["requesters"] = list(requesters)
        tier = self.item_tiers.get(field, {}).get(name)
        if tier is not None:
            entry["tier"] = tier.value
        return entry if len(entry) > 1 else name

    def requesters_of(self, field: str, name: str) -> tuple[str, ...] | None:
        """Who may ask for item ``name`` of list ``field``; None: whoever may ask for the app."""
        return self.item_requesters.get(field, {}).get(name)

    def tier_of(self, field: str, name: str) -> Tier:
        """The tier the policy gives item ``name`` of list ``field`` (standard by default)."""
        return self.item_tiers.get(field, {}).get(name, Tier.STANDARD)

    def rule_for(self, tier: Tier) -> TierRule:
        """How requests of ``tier`` are approved."""
        return self.tiers.get(tier, DEFAULT_RULE)

    def stages_for(self, tier: Tier) -> tuple[Stage, ...]:
        """The approval stages of ``tier``, in order."""
        return self.rule_for(tier).steps

    @model_validator(mode="after")
    def _rules_fit(self) -> Application:
        for tier, rule in self.tiers.items():
            if rule.auto_approve and tier is not Tier.LOW:
                raise ValueError(f"tiers.{tier.value}.auto_approve: only low may be auto-approved")
            for i, stage in enumerate(rule.steps):
                pool = stage.approvers or self.owners
                people = [p for p in pool if not p.startswith("S")]
                if len(people) == len(pool) and len(set(people)) < stage.required:
                    where = f"tiers.{tier.value}" + (f".stages[{i}]" if rule.stages else "")
                    raise ValueError(
                        f"{where}.required: {stage.required} approvers needed but only "
                        f"{len(set(people))} listed"
                    )
        return self

    @field_validator("approval_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not SLACK_CHANNEL_ID.match(value):
            raise ValueError("must be a Slack channel id such as C0123ABCD (not a #name)")
        return value

    @field_validator("durations_days")
    @classmethod
    def _days(cls, value: tuple[int | None, ...] | None) -> tuple[int | None, ...] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("list at least one duration (days, or null for permanent)")
        if any(d is not None and d <= 0 for d in value):
            raise ValueError("durations are whole days above 0, or null for permanent")
        return value

    @model_validator(mode="after")
    def _durations_from_days(self) -> Application:
        # ``durations_days: [30, null]`` (the older form) reads as ``durations: [P30D, null]``.
        if self.durations_days is None:
            return self
        if "durations" in self.model_fields_set:
            raise ValueError("give durations or durations_days, not both")
        days = tuple(None if n is None else timedelta(days=n) for n in self.durations_days)
        # Still being built: the one moment a frozen model may set its own fields.
        object.__setattr__(self, "durations", days)
        object.__setattr__(self, "durations_days", None)
        return self

    @field_validator("durations", mode="before")
    @classmethod
    def _iso_durations(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        if not value:
            raise ValueError("list at least one duration (such as PT4H or P30D, or null)")
        read: list[timedelta | None] = []
        for i, item in enumerate(value):
            if item is None or isinstance(item, timedelta):
                parsed = item
            elif isinstance(item, str):
                parsed = parse_iso_duration(item)
                if parsed is None:
                    raise ValueError(f"durations[{i}]: {item!r} is not an ISO 8601 duration")
            else:
                raise ValueError(
                    f"durations[{i}]: {item!r} is not an ISO 8601 duration (write PT4H, P30D)"
                )
            if parsed is not None and parsed < _SHORTEST_DURATION:
                raise ValueError(f"durations[{i}]: {item!r} is shorter than one minute")
            read.append(parsed)
        return tuple(read)

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


def _requesters(value: Any, where: str) -> tuple[str, ...]:
    return people_or_groups(value, where)


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

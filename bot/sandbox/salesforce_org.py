"""A simulated Salesforce org: its state, admin set-up, faults and counters (thread-safe).

``OrgServer`` (re-exported here) serves it over HTTPS with the REST shapes of a real org.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.sandbox import sf_expiry
from bot.sandbox.sf_calls import Call, RestResult
from bot.sandbox.sf_faults import FaultKind, Faults, Hold
from bot.sandbox.sf_rest import RestApi
from bot.sandbox.sf_server import OrgServer
from bot.sandbox.sf_setup import OrgSetup

__all__ = [
    "FaultKind",
    "Hold",
    "LicenseSnapshot",
    "OrgServer",
    "RecordedCall",
    "SimulatedOrg",
    "UserSnapshot",
]
REQUEST_LIMIT_BODY = [
    {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
]


@dataclass(frozen=True)
class RecordedCall:
    """One HTTP request the org received."""

    method: str
    path: str
    query: dict[str, str]
    json: Any


@dataclass(frozen=True)
class UserSnapshot:
    """A user as the org holds it right now."""

    id: str
    username: str
    is_active: bool
    profile_id: str
    profile_name: str
    license_name: str
    role_id: str | None
    federation_id: str | None
    frozen: bool
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LicenseSnapshot:
    """A user license and its seats."""

    id: str
    name: str
    total: int
    used: int


class SimulatedOrg(OrgSetup):
    """One org's records and behaviour; every public method may be called from any thread."""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        api_total: int = 100_000,
        api_used: int = 0,
        seed: int = 0,
        batch_size: int = 2000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(clock)
        self.delay = delay
        self.faults = Faults(seed)
        self.stopping = threading.Event()
        self.instance_url = "https://127.0.0.1"
        self._api_total = api_total
        self._api_base = api_used
        self._api_calls = 0
        self._calls: list[RecordedCall] = []
        self._in_flight = 0
        self._holds: list[Hold] = []
        self._rest = RestApi(self.store, self._usage, batch_size)

    # --- behaviour ----------------------------------------------------------------------
    def take_username_elsewhere(self, username: str) -> None:
        """Make ``username`` exist in another org: inserting it fails with DUPLICATE_USERNAME."""
        with self._lock:
            self.store.policies.taken_elsewhere.add(username)

    def block_deactivation(
        self, user_id: str, message: str, error_code: str = "FIELD_INTEGRITY_EXCEPTION"
    ) -> None:
        """Refuse to deactivate ``user_id`` with this message (a default case owner, ...)."""
        with self._lock:
            self.store.policies.blocks[user_id] = (message, error_code)

    def block_deactivation_while_approver(self, user_id: str) -> None:
        """Refuse to deactivate ``user_id`` as long as approval work items wait on them (the
        refusal clears by itself once they are reassigned)."""
        with self._lock:
            self.store.policies.approver_blocks.add(user_id)

    def clear_block(self, user_id: str) -> None:
        """The admin cleared the blocker."""
        with self._lock:
            self.store.policies.blocks.pop(user_id, None)

    def add_validation_rule(self, field_name: str, message: str) -> None:
        """Inserting a User without ``field_name`` fails with FIELD_CUSTOM_VALIDATION_EXCEPTION."""
        with self._lock:
            if self.store.schema["User"].canonical_field(field_name) is None:
                self.store.schema["User"].extra_fields.add(field_name)
                for row in self.store.rows("User"):
                    row.setdefault(field_name, None)
            self.store.policies.validation_rules[field_name] = message

    def refuse_updates(self, record_ids: list[str], message: str) -> None:
        """A validation rule that fails updates of these records (owner changes included) with
        FIELD_CUSTOM_VALIDATION_EXCEPTION and ``message``, until ``allow_updates``."""
        with self._lock:
            for record_id in record_ids:
                self.store.policies.record_rules[record_id] = message

    def allow_updates(self, record_ids: list[str] | None = None) -> None:
        """The admin fixed the records (or the rule): these (default: all) update again."""
        with self._lock:
            rules = self.store.policies.record_rules
            for record_id in list(rules) if record_ids is None else record_ids:
                rules.pop(record_id, None)

    def hold_bulk_jobs(self) -> None:
        """Closed Bulk API 2.0 jobs stay InProgress (a busy org) until ``release_bulk_jobs``."""
        with self._lock:
            self._rest.bulk.held = True

    def release_bulk_jobs(self) -> None:
        """Salesforce gets round to the held jobs: the next look finds them complete."""
        with self._lock:
            self._rest.bulk.held = False

    def hold_query_jobs(self, held: bool = True) -> None:
        """Bulk API 2.0 query jobs stay InProgress (a busy org) until called with False."""
        with self._lock:
            self._rest.bulk_query.held = held

    def bulk_jobs(self) -> list[dict[str, Any]]:
        """Every ingest job as ``GET jobs/ingest/{id}`` describes it (without advancing it)."""
        with self._lock:
            return [job.info() for job in self._rest.bulk.jobs.values()]

    def turn_on_assignment_expiration(self) -> None:
        """The admin enables "Permission Set & Permission Set Group Assignments with Expiration
        Dates" in User Management Settings: assignments may now carry an ExpirationDate."""
        with self._lock:
            sf_expiry.turn_on(self.store)

    def turn_off_assignment_expiration(self) -> None:
        """The admin disables the setting again: the field disappears from the object."""
        with self._lock:
            sf_expiry.turn_off(self.store)

    def assignment_expirations(self, user_id: str) -> dict[str, datetime | None]:
        """The user's permission set (group) names -> the ExpirationDate of each assignment."""
        with self._lock:
            sf_expiry.remove_expired(self.store, self.store.clock())
            found: dict[str, datetime | None] = {}
            for psa in self.store.find("PermissionSetAssignment", AssigneeId=user_id):
                group = self.store.get("PermissionSetGroup", psa["PermissionSetGroupId"])
                perm_set = self.store.get("PermissionSet", psa["PermissionSetId"])
                if group is None and (perm_set is None or perm_set["IsOwnedByProfile"]):
                    continue
                name = group["DeveloperName"] if group else perm_set["Name"] if perm_set else ""
                when = psa.get(sf_expiry.EXPIRATION_DATE)
                found[str(name)] = sf_expiry.parse_datetime(when) if when else None
            return found

    def expire_sessions(self) -> None:
        """Every issued token now answers 401 INVALID_SESSION_ID."""
        self.auth.expire_all()

    def issue_token(self, username: str | None = None) -> str:
        """A valid access token for ``username`` (default: the integration user)."""
        name = username or self.integration_username
        with self._lock:
            user = self.store.user_by_username(name) if name else None
        if user is None:
            raise KeyError(f"no such user: {name}")
        return self.auth.issue(str(user["Id"]))

    def hold(
        self, path_substring: str, *, after_apply: bool = False, body_has: str | None = None
    ) -> Hold:
        """Park matching data requests until the returned handle's ``release()``."""
        hold = Hold(path_substring, after_apply, body_has)
        with self._lock:
            self._holds.append(hold)
        return hold

    def hold_for(self, path: str, body: Any = None) -> Hold | None:
        """The unreleased hold matching ``path`` (and ``body``), if any."""
        with self._lock:
            return next((h for h in self._holds if h.matches(path, body)), None)

    def release_all(self) -> None:
        """Release every hold (the server does this when it stops)."""
        with self._lock:
            for hold in self._holds:
                hold.release()

    # --- inspection ---------------------------------------------------------------------
    def _snapshot(self, row: dict[str, Any]) -> UserSnapshot:
        profile = self.store.get("Profile", row["ProfileId"]) or {}
        lic = self.store.license_of_profile(row["ProfileId"]) or {}
        login = self.store.login_of(row["Id"]) or {}
        return UserSnapshot(
            id=row["Id"],
            username=row["Username"],
            is_active=bool(row["IsActive"]),
            profile_id=row["ProfileId"],
            profile_name=str(profile.get("Name", "")),
            license_name=str(lic.get("Name", "")),
            role_id=row["UserRoleId"],
            federation_id=row["FederationIdentifier"],
            frozen=bool(login.get("IsFrozen")),
            fields=dict(row),
        )

    def user(self, user_id: str) -> UserSnapshot | None:
        """The user with this Id."""
        with self._lock:
            row = self.store.get("User", user_id)
            return self._snapshot(row) if row else None

    def user_by_username(self, username: str) -> UserSnapshot | None:
        """The user with this Username."""
        with self._lock:
            row = self.store.user_by_username(username)
            return self._snapshot(row) if row else None

    def users(self) -> list[UserSnapshot]:
        """Every user."""
        with self._lock:
            return [self._snapshot(row) for row in self.store.rows("User")]

    def assignments_of(self, user_id: str) -> tuple[str, ...]:
        """Names of the user's permission sets and groups (profile-owned excluded), sorted."""
        with self._lock:
            sf_expiry.remove_expired(self.store, self.store.clock())
            return self.store.assignment_names(user_id)

    def is_frozen(self, user_id: str) -> bool:
        """Whether the user's UserLogin is frozen."""
        with self._lock:
            login = self.store.login_of(user_id)
            return bool(login and login["IsFrozen"])

    def license(self, name: str) -> LicenseSnapshot | None:
        """The license called ``name`` with its seats."""
        with self._lock:
            row = next(iter(self.store.find("UserLicense", Name=name)), None)
            if row is None:
                return None
            return LicenseSnapshot(
                row["Id"], row["Name"], row["TotalLicenses"], row["UsedLicenses"]
            )

    # --- counters and the HTTP layer's entry points ---------------------------------------
    @property
    def api_calls(self) -> int:
        """Authenticated /services/data requests answered (a composite counts once)."""
        with self._lock:
            return self._api_calls

    @property
    def calls(self) -> list[RecordedCall]:
        """Every HTTP request received, in order."""
        with self._lock:
            return list(self._calls)

    def reset_counters(self) -> None:
        """Forget recorded calls and the API call count (the daily usage stays)."""
        with self._lock:
            self._api_base += self._api_calls
            self._api_calls = 0
            self._calls.clear()

    def set_api_used(self, used: int) -> None:
        """The org's API requests used today (a new day, or another integration's calls)."""
        with self._lock:
            self._api_base = used
            self._api_calls = 0

    def _usage(self) -> tuple[int, int]:
        return self._api_base + self._api_calls, self._api_total

    def limit_header(self) -> dict[str, str]:
        """The Sforce-Limit-Info header every data response carries."""
        with self._lock:
            used, total = self._usage()
        return {"Sforce-Limit-Info": f"api-usage={used}/{total}"}

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Count one request as in flight while the server works on it."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        """Requests received and not yet answered (held, timing out, or being served)."""
        with self._lock:
            return self._in_flight

    def record(self, method: str, path: str, query: dict[str, str], body: Any) -> None:
        """Remember one received request."""
        with self._lock:
            self._calls.append(RecordedCall(method, path, query, body))

    def token_grant(
        self, form: dict[str, str], authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        """POST /services/oauth2/token (JWT bearer or client credentials)."""
        with self._lock:
            return self.auth.token_grant(form, authorization, self.instance_url)

    def soap_login(self, envelope: str, version: str) -> tuple[int, str]:
        """POST /services/Soap/u/{version}: the legacy login()."""
        with self._lock:
            return self.auth.soap_login(envelope, version, self.instance_url)

    def userinfo(self, authorization: str | None) -> dict[str, Any] | None:
        """GET /services/oauth2/userinfo; None when the token is unknown or expired."""
        caller = self.auth.caller(authorization)
        if caller is None:
            return None
        with self._lock:
            return self.auth.userinfo(caller)

    def dispatch(self, call: Call) -> RestResult:
        """Count and answer one authenticated data request (403 once the allocation is used)."""
        with self._lock:
            used, total = self._usage()
            if used >= total:
                return RestResult(403, REQUEST_LIMIT_BODY)
            self._api_calls += 1
            # Salesforce removes expired assignments by itself, bot or no bot.
            sf_expiry.remove_expired(self.store, self.store.clock())
            return self._rest.handle(call)

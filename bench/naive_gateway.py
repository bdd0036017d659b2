"""The naive Salesforce baseline: a lookup, then one REST call per record, via SFType.

It does what the gateway does, the way a first version would: query the user, create or patch
them, unfreeze their login, then POST one PermissionSetAssignment at a time; deactivation is one
PATCH per user. It runs on a thread pool as wide as the real gateway's, so the difference the
bench shows is the number of round trips, not the concurrency.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.exceptions import SalesforceError as LibraryError

from salesforce.auth import DEFAULT_API_VERSION
from salesforce.error_mapping import from_exception
from salesforce.gateway import SalesforceGateway
from salesforce.models import (
    ApiBudget,
    Catalog,
    Deactivated,
    DeactivationOutcome,
    ProvisionAction,
    ProvisionResult,
    SalesforceUser,
    UserSpec,
)

T = TypeVar("T")


def sobject(sf: Salesforce, name: str) -> SFType:
    """The SFType for ``name`` (what ``sf.User`` gives, typed)."""
    return SFType(
        name,
        sf.session_id,
        sf.sf_instance,
        sf_version=sf.sf_version,
        proxies=sf.proxies,
        session=sf.session,
        salesforce=sf,
    )


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _user_fields(spec: UserSpec) -> dict[str, Any]:
    fields: dict[str, Any] = {
        **spec.extra_fields,
        "Username": spec.username,
        "Email": spec.email,
        "FirstName": spec.first_name or None,
        "LastName": spec.last_name,
        "Alias": spec.alias,
        "TimeZoneSidKey": spec.time_zone,
        "LocaleSidKey": spec.locale,
        "LanguageLocaleKey": spec.language,
        "EmailEncodingKey": spec.email_encoding,
        "ProfileId": spec.profile_id,
    }
    if spec.role_id:
        fields["UserRoleId"] = spec.role_id
    return fields


def naive_provision(sf: Salesforce, spec: UserSpec) -> ProvisionResult:
    """Look the user up, create or reactivate them, then one call per assignment."""
    username = _quoted(spec.username)
    found = sf.query(f"SELECT Id FROM User WHERE Username = {username}")  # noqa: S608 - quoted
    records = found.get("records") or []
    calls = 1
    if records:
        user_id = str(records[0]["Id"])
        patch = {"IsActive": True, "ProfileId": spec.profile_id}
        if spec.role_id:
            patch["UserRoleId"] = spec.role_id
        sobject(sf, "User").update(user_id, patch)
        login_soql = f"SELECT Id, IsFrozen FROM UserLogin WHERE UserId = {_quoted(user_id)}"  # noqa: S608
        logins = sf.query(login_soql)
        calls += 2
        for login in logins.get("records") or []:
            if login.get("IsFrozen"):
                sobject(sf, "UserLogin").update(login["Id"], {"IsFrozen": False})
                calls += 1
        action = ProvisionAction.REACTIVATED
    else:
        user_id = str(sobject(sf, "User").create(_user_fields(spec))["id"])
        calls += 1
        action = ProvisionAction.CREATED
    bodies = [{"PermissionSetId": i} for i in spec.permission_set_ids]
    bodies += [{"PermissionSetGroupId": g} for g in spec.permission_set_group_ids]
    for body in bodies:
        calls += 1
        try:
            sobject(sf, "PermissionSetAssignment").create({"AssigneeId": user_id, **body})
        except LibraryError as error:
            if "DUPLICATE_VALUE" not in str(error):
                raise
    return ProvisionResult(
        user_id=user_id,
        username=spec.username,
        action=action,
        assigned=(*spec.permission_set_ids, *spec.permission_set_group_ids),
        api_calls=calls,
    )


def naive_deactivate(sf: Salesforce, user_id: str) -> Deactivated:
    """One PATCH IsActive=false."""
    sobject(sf, "User").update(user_id, {"IsActive": False})
    return Deactivated(user_id=user_id)


class NaiveGateway:
    """The gateway protocol with naive provisioning and deactivation; the rest is delegated."""

    def __init__(
        self,
        instance_url: str,
        access_token: str,
        *,
        delegate: SalesforceGateway,
        max_workers: int = 4,
        verify: str | bool = True,
    ) -> None:
        session = requests.Session()
        if verify is not True:
            # requests lets REQUESTS_CA_BUNDLE override session.verify unless trust_env is off.
            session.trust_env = False
            session.verify = verify
        self._sf = Salesforce(
            instance_url=instance_url,
            session_id=access_token,
            session=session,
            version=DEFAULT_API_VERSION,
        )
        self._delegate = delegate
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="naive-salesforce")

    async def _run(self, action: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, functools.partial(action, *args))
        except Exception as error:
            raise from_exception(error) from error

    async def fetch_catalog(self) -> Catalog:
        """The catalog, as the real gateway reads it."""
        return await self._delegate.fetch_catalog()

    async def find_user(
        self, username: str, federation_id: str | None = None
    ) -> SalesforceUser | None:
        """The user with this Username."""
        return await self._delegate.find_user(username, federation_id)

    async def get_user(self, user_id: str) -> SalesforceUser | None:
        """The user with this Id."""
        return await self._delegate.get_user(user_id)

    async def create_user(self, spec: UserSpec) -> ProvisionResult:
        """Lookup, then one call per record (an existing user is reactivated as it is)."""
        return await self._run(naive_provision, self._sf, spec)

    async def deactivate(self, user_id: str) -> DeactivationOutcome:
        """One PATCH."""
        return await self._run(naive_deactivate, self._sf, user_id)

    async def deactivate_many(self, user_ids: Sequence[str]) -> dict[str, DeactivationOutcome]:
        """One PATCH per user, on the pool."""
        done = await asyncio.gather(*(self.deactivate(i) for i in user_ids))
        return {outcome.user_id: outcome for outcome in done}

    async def freeze(self, user_id: str) -> bool:
        """Freeze the user's login."""
        return await self._delegate.freeze(user_id)

    def budget(self) -> ApiBudget | None:
        """The real gateway's budget reading."""
        return self._delegate.budget()

    def __getattr__(self, name: str) -> Any:
        # Anything else the bot asks (identity, permission_check, ...) goes to the real one.
        return getattr(self._delegate, name)

    async def aclose(self) -> None:
        """Release the pool, then the delegate."""
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
        await self._delegate.aclose()

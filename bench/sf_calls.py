"""Salesforce round trips: per grant (new user, reactivation) and for offboarding many users.

Ours is the bot's own path (a grant in an in-memory database, converged by the converger on
the real gateway); the naive baseline provisions the same specs. Both run in this process
against the simulated org, one grant at a time, so each grant's calls are exactly the change
of the org's counter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from pydantic import SecretStr

from bench.naive_gateway import NaiveGateway
from bench.org_process import Endpoint, OrgHost
from handlers.flows.catalog import CatalogService
from handlers.flows.converge import Converger
from handlers.flows.people import Person
from handlers.flows.provision import ProvisioningConfig, start_provisioning
from handlers.policy import Application, Policy
from salesforce.auth import SalesforceAuth
from salesforce.gateway import SalesforceGateway
from salesforce.models import UserSpec
from storage.db import Database
from storage.kv import CatalogCache
from storage.models import AccessRequest, NewRequest, State
from storage.requests import RequestRepository

PERMISSION_SETS = ("Sales_Ops", "Reports_Export")
GROUPS = ("Sales_Bundle",)


@dataclass(frozen=True)
class CallCounts:
    """Calls per operation for the gateway and the naive baseline."""

    ours: tuple[int, ...]
    naive: tuple[int, ...]
    ours_seconds: float
    naive_seconds: float


def real_gateway(endpoint: Endpoint, workers: int = 16) -> SalesforceGateway:
    """The bot's gateway on the simulated org (its CA trusted for this session only)."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override the session's CA
    session.verify = endpoint.ca_bundle_path
    auth = SalesforceAuth(
        instance_url=endpoint.instance_url, access_token=SecretStr(endpoint.access_token)
    )
    return SalesforceGateway(auth, session=session, max_workers=workers)


def naive_gateway(
    endpoint: Endpoint, delegate: SalesforceGateway, workers: int = 16
) -> NaiveGateway:
    """The naive baseline on the same org."""
    return NaiveGateway(
        endpoint.instance_url,
        endpoint.access_token,
        delegate=delegate,
        max_workers=workers,
        verify=endpoint.ca_bundle_path,
    )


def _spec(org: OrgHost, username: str) -> UserSpec:
    return UserSpec(
        username=username,
        email=username,
        first_name="Bench",
        last_name="Calls",
        alias="bcalls",
        profile_id=org.id_of("Profile", "Sales User"),
        role_id=org.id_of("UserRole", "SalesRep"),
        permission_set_ids=tuple(org.id_of("PermissionSet", n) for n in PERMISSION_SETS),
        permission_set_group_ids=tuple(org.id_of("PermissionSetGroup", n) for n in GROUPS),
    )


BENCH_POLICY = Policy(
    applications=(
        Application(
            name="bench",
            owners=("U0OWNER",),
            admins=("U0ADMIN",),
            licenses=("Salesforce",),
            profiles=("Sales User",),
            roles=("SalesRep",),
            permission_sets=PERMISSION_SETS,
            permission_set_groups=GROUPS,
        ),
    )
)


async def _count_naive(
    org: OrgHost, gateway: NaiveGateway, specs: list[UserSpec]
) -> tuple[tuple[int, ...], float]:
    counts = []
    started = time.monotonic()
    for spec in specs:
        before = org.api_calls()
        await gateway.create_user(spec)
        counts.append(org.api_calls() - before)
    return tuple(counts), time.monotonic() - started


async def _count_ours(
    org: OrgHost, gateway: SalesforceGateway, usernames: list[str]
) -> tuple[tuple[int, ...], float]:
    """Each username's grant through the converger, as the bot runs it after an approval."""

    async def person(subject_id: str) -> Person:
        return Person(id=subject_id, email=f"{subject_id}@acme.com", real_name="Bench Calls")

    async with Database(":memory:") as db:
        repo = RequestRepository(db)
        catalog = CatalogService(gateway, CatalogCache(db), db.clock)
        await catalog.current()  # read once, as the request form does before any grant
        config = ProvisioningConfig()
        converger = Converger(
            repo,
            repo.managed,
            gateway,
            catalog,
            lambda: BENCH_POLICY,
            person,
            worker="bench",
            lease=config.lease,
            cfg=config,
        )
        counts = []
        started = time.monotonic()
        for n, username in enumerate(usernames):
            grant, _ = await repo.create(
                NewRequest(
                    application="bench",
                    state=State.APPROVED,
                    requester_id=f"U{n:07d}",
                    subject_id=f"U{n:07d}",
                    subject_email=username,
                    license="Salesforce",
                    profile="Sales User",
                    role="SalesRep",
                    permission_sets=(*PERMISSION_SETS, *(f"group:{g}" for g in GROUPS)),
                ),
                actor="U0OWNER",
            )
            before = org.api_calls()
            started_grant = await start_provisioning(repo, grant, worker="bench", cfg=config)
            assert isinstance(started_grant, AccessRequest) and started_grant.sf_username
            await converger.converge([started_grant.sf_username])
            counts.append(org.api_calls() - before)
            done = await repo.get(grant.id)
            assert done is not None and done.state is State.ACTIVE, done
        return tuple(counts), time.monotonic() - started


async def grant_calls(
    org: OrgHost, endpoint: Endpoint, count: int, *, reactivate: bool
) -> CallCounts:
    """Provision ``count`` new users (or reactivate ``count`` frozen ones) both ways."""
    gateway = real_gateway(endpoint)
    naive = naive_gateway(endpoint, gateway)
    kind = "old" if reactivate else "new"
    names = {
        who: [f"calls.{kind}.{who}.{n:04d}@acme.com" for n in range(count)]
        for who in ("ours", "naive")
    }
    if reactivate:
        for who in names:
            org.add_users(names[who], "Sales User", "Sales_Ops", active=False)
    try:
        ours, ours_seconds = await _count_ours(org, gateway, names["ours"])
        theirs, naive_seconds = await _count_naive(
            org, naive, [_spec(org, u) for u in names["naive"]]
        )
    finally:
        await naive.aclose()  # closes the real gateway too
    return CallCounts(ours, theirs, ours_seconds, naive_seconds)


@dataclass(frozen=True)
class Offboarded:
    """Deactivating many users at once: calls, deactivation calls, seconds, and success."""

    calls: int
    deactivation_calls: int
    seconds: float
    inactive: int
    org_cpu_seconds: float


async def offboard_calls(
    org: OrgHost, endpoint: Endpoint, count: int
) -> tuple[Offboarded, Offboarded]:
    """Deactivate ``count`` users with ``deactivate_many``, and ``count`` others one by one."""
    gateway = real_gateway(endpoint)
    naive = naive_gateway(endpoint, gateway)
    ids = {
        who: org.add_users(
            [f"off.{who}.{n:05d}@acme.com" for n in range(count)], "Sales User", "Sales_Ops"
        )
        for who in ("ours", "naive")
    }
    try:
        ours = await _offboard(org, ids["ours"], gateway)
        theirs = await _offboard(org, ids["naive"], naive)
    finally:
        await naive.aclose()
    return ours, theirs


async def _offboard(
    org: OrgHost, user_ids: list[str], gateway: SalesforceGateway | NaiveGateway
) -> Offboarded:
    before, first, cpu = org.api_calls(), org.call_count(), org.cpu_seconds()
    started = time.monotonic()
    outcomes = await gateway.deactivate_many(user_ids)
    seconds = time.monotonic() - started
    org_cpu = org.cpu_seconds() - cpu
    made = org.calls_from(first)
    # A deactivation call PATCHes User records: one per user, or a collection of 200.
    deactivating = [c for c in made if c[0] == "PATCH" and ("/User/" in c[1] or c[2] == "User")]
    inactive = {u.id for u in org.users() if not u.is_active}
    return Offboarded(
        calls=org.api_calls() - before,
        deactivation_calls=len(deactivating),
        seconds=seconds,
        inactive=sum(1 for i in user_ids if i in inactive and i in outcomes),
        org_cpu_seconds=org_cpu,
    )

"""The access model under random interleavings: a hypothesis state machine against the org.

Rules request, approve, deny, cancel, revoke, expire, extend, leave Slack, adopt, retry and
restart the process run the flows on a real SQLite file and the simulated org over HTTPS,
with Salesforce answering 503 for some of the calls. After every step, once the converger has
caught up (faults cleared, due work run), the invariants of the access-integrity issue hold:

- every managed user in Salesforce equals the desired state of its active grants and baseline;
- every user the bot never changed is exactly as it was;
- no grant is active without its access, and no access exists without an active grant.

``ACCESSBOT_STATEFUL_EXAMPLES`` / ``ACCESSBOT_STATEFUL_STEPS`` make a longer run.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import trustme
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from bot.sandbox.salesforce_org import FaultKind, OrgServer, SimulatedOrg, UserSnapshot
from handlers.flows.batch import revoke_together
from handlers.flows.catalog import CatalogService
from handlers.flows.converge import Converger
from handlers.flows.decide import decide
from handlers.flows.escalate import adopt_existing, retry
from handlers.flows.expiry import expire_grants
from handlers.flows.extend import request_extension
from handlers.flows.offboard import record_departure
from handlers.flows.people import Person
from handlers.flows.provision import ProvisioningConfig, start_provisioning
from handlers.flows.revoke import RevokeSource, request_revocation
from handlers.policy import Application, Policy, Timings
from salesforce.auth import SalesforceAuth
from salesforce.gateway import SalesforceGateway
from storage.db import Database
from storage.due import DueWork
from storage.kv import CatalogCache
from storage.models import AccessRequest, Kind, ManagedOrigin, NewRequest, State
from storage.requests import RequestRepository

T = TypeVar("T")
OWNER, ADMIN, WORKER = "U0OWNER", "U0ADMIN", "prop"
LEASE = timedelta(minutes=5)
# Slack member -> (email, whether a user with that username already exists in the seed org)
PEOPLE = {
    "U0JANE": "jane@acme.test",  # new: the bot creates her
    "U0BOB": "bob@acme.test",  # new
    "U0JORDAN": "jordan.lee@acme.com",  # inactive, same email: adopted by itself
    "U0SAM": "sam.patel@acme.com",  # active: an admin must adopt him
}
PROFILES = ("Standard User", "Sales User")
SETS = ("Sales_Ops", "Reports_Export", "Knowledge_Author")
CA = trustme.CA()
EXAMPLES = int(os.environ.get("ACCESSBOT_STATEFUL_EXAMPLES", "12"))
STEPS = int(os.environ.get("ACCESSBOT_STATEFUL_STEPS", "25"))
STATS = {"examples": 0, "steps": 0, "timed": 0}

POLICY = Policy(
    applications=(
        Application(
            name="sales",
            owners=(OWNER,),
            admins=(ADMIN,),
            licenses=("Salesforce",),
            profiles=PROFILES,
            roles=("SalesRep",),
            permission_sets=SETS,
            durations_days=(1, None),
        ),
    ),
    timings=Timings(retry_base_delay=timedelta(0), retry_max_attempts=3),
)


async def _person(subject_id: str) -> Person:
    return Person(id=subject_id, email=PEOPLE[subject_id], real_name="Pat Example")


class AccessModel(RuleBasedStateMachine):
    """The bot's flows, the org, and the invariants between them."""

    pending = Bundle("pending")
    grants = Bundle("grants")

    def __init__(self) -> None:
        super().__init__()
        STATS["examples"] += 1
        self.loop = asyncio.new_event_loop()
        self.org = SimulatedOrg()
        self.org.seed_demo()
        self.expiring = False
        self.server = OrgServer(self.org, CA)
        self.server.start()
        self.saved_ca = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = self.server.ca_bundle_path
        self.folder = tempfile.TemporaryDirectory()
        self.db_path = Path(self.folder.name) / "model.sqlite3"
        self.before = {u.id: self._look(u) for u in self.org.users()}
        self.run(self._open())

    @initialize(expiring=st.booleans())
    def org_setting(self, expiring: bool) -> None:
        """Half the orgs let assignments carry their end (Salesforce-enforced expiry)."""
        self.expiring = expiring
        if expiring:
            self.org.turn_on_assignment_expiration()

    # --- plumbing ---------------------------------------------------------------------------
    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    async def _open(self) -> None:
        self.db = await Database(self.db_path).open()
        self.repo = RequestRepository(self.db)
        auth = SalesforceAuth(
            instance_url=self.server.instance_url, access_token=self.server.access_token
        )
        self.gateway = SalesforceGateway(auth, max_workers=2, timeout=10)
        catalog = CatalogService(self.gateway, CatalogCache(self.db), self.db.clock)
        self.converger = Converger(
            self.repo,
            self.repo.managed,
            self.gateway,
            catalog,
            lambda: POLICY,
            _person,
            worker=WORKER,
            lease=LEASE,
            cfg=ProvisioningConfig(lease=LEASE),
        )

    async def _close(self) -> None:
        await self.gateway.aclose()
        await self.db.close()

    def teardown(self) -> None:
        self.run(self._close())
        self.loop.close()
        self.server.stop()
        self.folder.cleanup()
        if self.saved_ca is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = self.saved_ca

    def _fail_next(self, count: int) -> None:
        if count:
            self.org.faults.inject(FaultKind.UNAVAILABLE, count=count)

    async def _provision(self, request: AccessRequest) -> None:
        started = await start_provisioning(
            self.repo, request, worker=WORKER, cfg=ProvisioningConfig(lease=LEASE)
        )
        if isinstance(started, AccessRequest) and started.sf_username:
            await self.converger.converge([started.sf_username])

    async def _revoke(self, revocation: AccessRequest) -> None:
        if revocation.kind is Kind.REVOKE:
            await revoke_together(self.converger, [revocation])
        elif revocation.sf_username:  # a cancellation: the worker converges its user
            await self.converger.converge([revocation.sf_username])

    async def _tick(self) -> int:
        """What the scheduler's due-work job does: claimed requests, then dirty users."""
        claimed = await self.repo.claim_due(
            [State.APPROVED, State.PROVISIONING, State.REQUESTED, State.DEPROVISIONING],
            worker=WORKER,
            lease=LEASE,
        )
        for request in claimed:
            if request.kind is Kind.GRANT:
                await self._provision(request)
        revocations = [r for r in claimed if r.kind is Kind.REVOKE]
        if revocations:
            await revoke_together(self.converger, revocations)
        return len(claimed) + len(await self.converger.run_due())

    async def _get(self, request_id: str) -> AccessRequest:
        found = await self.repo.get(request_id)
        assert found is not None
        return found

    # --- rules --------------------------------------------------------------------------------
    @rule(
        target=pending,
        subject=st.sampled_from(sorted(PEOPLE)),
        profile=st.sampled_from(PROFILES),
        sets=st.lists(st.sampled_from(SETS), unique=True, max_size=2),
        role=st.sampled_from([None, "SalesRep"]),
        days=st.sampled_from([1, None]),
    )
    def request(
        self, subject: str, profile: str, sets: list[str], role: str | None, days: int | None
    ) -> str:
        new = NewRequest(
            application="sales",
            state=State.PENDING_APPROVAL,
            requester_id=subject,
            subject_id=subject,
            subject_email=PEOPLE[subject],
            license="Salesforce",
            profile=profile,
            role=role,
            permission_sets=tuple(sets),
            duration=None if days is None else timedelta(days=days),
            reason="property test",
        )
        created, _ = self.run(self.repo.create(new, actor=subject))
        return created.id

    @rule(target=grants, request_id=pending, faults=st.sampled_from([0, 0, 1, 3]))
    def approve(self, request_id: str, faults: int) -> str:
        async def go() -> None:
            decided = await decide(
                self.repo, POLICY, request_id=request_id, actor=OWNER, approve=True
            )
            if hasattr(decided, "approved"):
                self._fail_next(faults)
                await self._provision(await self._get(request_id))

        self.run(go())
        return request_id

    @rule(request_id=pending)
    def deny(self, request_id: str) -> None:
        self.run(decide(self.repo, POLICY, request_id=request_id, actor=OWNER, approve=False))

    @rule(request_id=st.one_of(pending, grants), faults=st.sampled_from([0, 0, 1, 3]))
    def revoke(self, request_id: str, faults: int) -> None:
        async def go() -> None:
            opened = await request_revocation(
                self.repo,
                await self._get(request_id),
                actor=OWNER,
                source=RevokeSource.OWNER,
                reason="property test",
            )
            if isinstance(opened, AccessRequest):
                self._fail_next(faults)
                await self._revoke(opened)

        self.run(go())

    @rule(request_id=grants, faults=st.sampled_from([0, 1]))
    def expire(self, request_id: str, faults: int) -> None:
        async def go() -> None:
            grant = await self._get(request_id)
            if grant.state is not State.ACTIVE or grant.expires_at is None:
                return
            ended = self.repo.clock() - timedelta(seconds=1)
            await self.repo.transition(
                grant.id,
                expected=State.ACTIVE,
                to=State.ACTIVE,
                actor="test",
                action="clock_moved",
                changes={"expires_at": ended},
                touch=False,
            )
            self._fail_next(faults)
            await expire_grants(
                self.repo, DueWork(self.db), self.converger, worker=WORKER, lease=LEASE
            )

        self.run(go())

    @rule(target=grants, request_id=grants)
    def extend(self, request_id: str) -> str:
        async def go() -> str:
            grant = await self._get(request_id)
            asked = await request_extension(
                self.repo, POLICY, grant_id=grant.id, actor=grant.subject_id
            )
            extension = getattr(asked, "request", None)
            if not isinstance(extension, AccessRequest):
                return request_id
            decided = await decide(
                self.repo, POLICY, request_id=extension.id, actor=OWNER, approve=True
            )
            if hasattr(decided, "approved"):
                await self._provision(await self._get(extension.id))
            return extension.id

        return self.run(go())

    @rule(subject=st.sampled_from(sorted(PEOPLE)), faults=st.sampled_from([0, 1]))
    def leave_slack(self, subject: str, faults: int) -> None:
        async def go() -> None:
            departure = await record_departure(
                self.repo, subject_id=subject, worker=WORKER, lease=LEASE
            )
            self._fail_next(faults)
            if departure.waiting:
                await revoke_together(self.converger, departure.waiting)
            for cancelled in departure.cancelled:
                await self._revoke(cancelled)

        self.run(go())

    @rule(request_id=grants)
    def admin_steps_in(self, request_id: str) -> None:
        """An admin adopts an existing user, or retries what kept failing."""

        async def go() -> None:
            grant = await self._get(request_id)
            if grant.state is not State.NEEDS_ADMIN:
                return
            if (grant.needs_admin_reason or "").startswith("existing_user"):
                resumed = await adopt_existing(
                    self.repo, self.gateway, POLICY, request_id=grant.id, actor=ADMIN
                )
            else:
                resumed = await retry(self.repo, POLICY, request_id=grant.id, actor=ADMIN)
            if hasattr(resumed, "request"):
                await self._provision(await self._get(grant.id))

        self.run(go())

    @rule()
    def restart(self) -> None:
        """The process dies between steps; a new one starts on the same database."""

        async def go() -> None:
            await self._close()
            await self._open()
            await DueWork(self.db).release_claims_of(WORKER)

        self.run(go())

    # --- invariants ---------------------------------------------------------------------------
    @invariant()
    def salesforce_matches_the_grants(self) -> None:
        STATS["steps"] += 1
        self.org.faults.clear()
        self.run(self._settle())
        self.run(self._check())

    async def _settle(self) -> None:
        for _ in range(8):
            if not await self._tick():
                return
        raise AssertionError("due work did not run dry")

    def _look(self, user: UserSnapshot) -> tuple[object, ...]:
        held = self.org.assignments_of(user.id)
        return (user.is_active, user.profile_id, user.role_id, user.frozen, held)

    async def _check(self) -> None:
        requests = await self.repo.find(limit=10_000)
        in_flight = {State.PROVISIONING, State.REQUESTED, State.DEPROVISIONING}
        assert not [r.id for r in requests if r.state in in_flight], "work left in flight"
        managed = {m.sf_user_id: m for m in await self.repo.managed.all() if m.sf_user_id}
        for user in self.org.users():
            found = managed.get(user.id)
            if found is None:
                # never the bot's: exactly as the seed left it (and nothing new appeared)
                assert user.id in self.before, f"unrecorded user {user.username}"
                assert self._look(user) == self.before[user.id], user.username
                continue
            active = [
                r
                for r in requests
                if r.kind is Kind.GRANT
                and r.state is State.ACTIVE
                and (r.sf_username or "").casefold() == found.username
            ]
            assert not found.dirty, f"{found.username} still dirty"
            self._check_user(user, found.origin, found.baseline, active)
        for grant in requests:
            if grant.kind is Kind.GRANT and grant.state is State.ACTIVE:
                assert grant.sf_user_id in managed, f"{grant.id} active without a managed user"

    def _check_user(
        self, user: UserSnapshot, origin: ManagedOrigin, baseline: Any, active: list[AccessRequest]
    ) -> None:
        held = set(self.org.assignments_of(user.id))
        if not active:
            if origin is ManagedOrigin.ADOPTED:
                assert (user.is_active, user.profile_id, user.role_id, user.frozen) == (
                    baseline.is_active,
                    baseline.profile_id,
                    baseline.role_id,
                    baseline.frozen,
                ), f"{user.username} not back to its baseline"
                assert held == self._names(baseline.assignments), user.username
            else:
                assert not user.is_active and not held, f"{user.username} kept access"
            return
        newest = max(active, key=lambda g: (g.decided_at or g.created_at, g.id))
        wanted = {name for g in active for name in g.permission_sets}
        if origin is ManagedOrigin.ADOPTED:
            wanted |= self._names(baseline.assignments)
        assert user.is_active and not user.frozen, f"{user.username} has grants but no access"
        assert user.profile_name == newest.profile, user.username
        assert held == wanted, f"{user.username}: holds {held}, grants give {wanted}"
        if self.expiring:
            self._check_ends(user, baseline, active)

    def _check_ends(self, user: UserSnapshot, baseline: Any, active: list[AccessRequest]) -> None:
        """Each set ends with the latest of its grants; never when a permanent grant (or the
        baseline) gives it too."""
        kept = self._names(baseline.assignments) if baseline else set()
        for name, held_end in self.org.assignment_expirations(user.id).items():
            STATS["timed"] += held_end is not None
            ends = [g.expires_at for g in active if name in g.permission_sets]
            if name in kept or None in ends:
                assert held_end is None, f"{user.username}: {name} ends at {held_end}"
                continue
            wanted = max(e for e in ends if e is not None)
            assert held_end is not None, f"{user.username}: {name} never ends"
            assert abs((held_end - wanted).total_seconds()) < 1, (name, held_end, wanted)

    def _names(self, ids: tuple[str, ...]) -> set[str]:
        by_id = {self.org.id_of("PermissionSet", name): name for name in SETS}
        return {by_id.get(i, i) for i in ids}


AccessModel.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestAccessModel = AccessModel.TestCase


def teardown_module() -> None:
    print(
        f"\nstateful access model: {STATS['examples']} examples, {STATS['steps']} steps checked, "
        f"{STATS['timed']} assignments with an end"
    )

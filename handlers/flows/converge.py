"""The one converger: brings each managed Salesforce user to the desired state of its grants.

Every event (approval, revocation, expiry, offboarding, extension, an admin's fix, a retry)
only changes requests in the database, which marks the user dirty in the same transaction.
``Converger.converge`` leases the user, reads it from Salesforce, applies the difference and
records what it did; grants whose access now exists become active and revocations whose access
is gone are closed. A change that lands while a call is in flight bumps the user's generation,
so the user is converged again as soon as that call returns.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.flows.catalog import CatalogService
from handlers.flows.desired import (
    DesiredUser,
    GrantAccess,
    desired_state,
    difference,
    removable,
)
from handlers.flows.hand_over import HandOver, Launch, Leaver, hand_over_first, leaver
from handlers.flows.outcomes import (
    GrantOutcome,
    Provisioned,
    RevocationBlocked,
    RevokedAccess,
    RevokeOutcome,
    Skipped,
    WillRetry,
)
from handlers.flows.ownership import (
    ADOPTION_PROBLEM,
    baseline_of,
    describe_user,
    may_adopt,
    owned_by_bot,
)
from handlers.flows.people import Person
from handlers.flows.ports import SalesforceGateway
from handlers.flows.provision import (
    ProvisioningConfig,
    Unresolvable,
    grant_access,
    needs_admin,
    provisioning_failed,
    spec_for,
)
from handlers.flows.revoke import HOLDING, OPEN_REVOCATION, is_offboarding, revocation_failed
from handlers.policy import Application, Policy
from salesforce.errors import DuplicateUsername, RecordNotFound, SalesforceError
from salesforce.expiration import EXPIRATION_DATE
from salesforce.holdings import DEFAULT_OBJECTS, Holdings
from salesforce.models import (
    Catalog,
    ChangeApplied,
    Deactivated,
    DeactivationBlocked,
    ProvisionAction,
    ProvisionResult,
    UserState,
)
from storage.managed import ManagedUsers
from storage.models import AccessRequest, Kind, ManagedOrigin, ManagedUser, State
from storage.requests import RequestRepository
from storage.together import Together
from storage.transfers import Transfer, Transfers

log = logging.getLogger(__name__)

NOT_YET_ACTIVE = (State.APPROVED, State.PROVISIONING)
Outcome = GrantOutcome | RevokeOutcome
# Salesforce's answer to an Id it does not know (a profile or set deleted since it was cached).
STALE_ID = "INVALID_CROSS_REFERENCE_KEY"


class _LazyCatalog:
    """The catalog, read once per round and only when a grant has to be resolved."""

    def __init__(self, service: CatalogService) -> None:
        self._service = service
        self._catalog: Catalog | None = None

    async def get(self) -> Catalog:
        if self._catalog is None:
            self._catalog = await self._service.current()
        return self._catalog


@dataclass
class _Plan:
    """One user's requests and what they want, before Salesforce is asked."""

    user: ManagedUser
    starts: datetime  # a grant activated by this round runs from here
    wanted: list[AccessRequest] = field(default_factory=list)
    to_activate: list[AccessRequest] = field(default_factory=list)
    to_close: list[AccessRequest] = field(default_factory=list)  # revocations
    access: list[GrantAccess] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    refreshed: bool = False  # the catalog was read again for this user in this round
    error: SalesforceError | None = None  # the catalog could not be read
    expiry: bool = False  # the org ends assignments by their ExpirationDate
    ends: dict[str, datetime] = field(default_factory=dict)  # grant id -> its end
    transfer: Transfer | None = None  # the work handed over before the deactivation

    def end_of(self, grant: AccessRequest) -> datetime | None:
        """When ``grant`` ends: its recorded end, or (not active yet) start + duration.

        The same value becomes the grant's ``expires_at`` and its assignments'
        ExpirationDate, so the bot and Salesforce agree on the end."""
        if grant.expires_at is not None:
            return grant.expires_at
        if grant.duration is None:
            return None
        return self.ends.setdefault(grant.id, self.starts + grant.duration)

    @property
    def subject_email(self) -> str:
        return next((g.subject_email for g in self.wanted if g.subject_email), "")


class Converger:
    """Leases dirty users, converges them, and settles the requests that waited on them."""

    def __init__(
        self,
        repo: RequestRepository,
        managed: ManagedUsers,
        gateway: SalesforceGateway,
        catalog: CatalogService,
        policy: Callable[[], Policy],
        people: Callable[[str], Awaitable[Person]],
        *,
        worker: str,
        lease: timedelta,
        cfg: ProvisioningConfig,
        transfers: Transfers | None = None,
        launch: Launch | None = None,
    ) -> None:
        self.repo, self.managed, self.gateway = repo, managed, gateway
        self.hand_over = (
            HandOver(
                repo, gateway, transfers, people, cfg, worker=worker, lease=lease, launch=launch
            )
            if transfers is not None
            else None
        )
        self.catalog, self.policy, self.people = catalog, policy, people
        self.worker, self.lease, self.cfg = worker, lease, cfg
        self._busy: set[str] = set()

    async def converge(
        self, usernames: Sequence[str], *, leased: Sequence[ManagedUser] = ()
    ) -> list[Outcome]:
        """Converge these users (until no change is left over); every request outcome.

        ``leased``: users this worker leased already (in the transaction that approved their
        grant), converged without leasing them again.
        """
        keys = [k for k in dict.fromkeys(u.casefold() for u in usernames) if k not in self._busy]
        self._busy.update(keys)
        held = {u.username: u for u in leased if u.username in keys}
        outcomes: list[Outcome] = []
        try:
            todo = keys
            for _ in range(5):  # a change landing mid-round is applied by the next round
                claimed = [held.pop(k) for k in todo if k in held]
                rest = [k for k in todo if k not in {u.username for u in claimed}]
                if rest:
                    claimed += await self.managed.claim(rest, worker=self.worker, lease=self.lease)
                if not claimed:
                    break
                results, again = await self._round(claimed)
                outcomes += results
                todo = again
                if not todo:
                    break
        finally:
            self._busy.difference_update(keys)
        return outcomes

    async def run_due(self, limit: int = 200) -> list[Outcome]:
        """Converge users left dirty (a crash, a cancellation, a retry whose time came)."""
        due = await self.managed.claim_due(worker=self.worker, lease=self.lease, limit=limit)
        if not due:
            return []
        return await self.converge([u.username for u in due])

    # --- one round over leased users -----------------------------------------------------
    async def _round(self, users: list[ManagedUser]) -> tuple[list[Outcome], list[str]]:
        catalog = _LazyCatalog(self.catalog)
        plans = [await self._plan(user, catalog) for user in users]
        retire = [p for p in plans if self._retires(p) and p.error is None]
        if retire:
            await self._deactivate(retire)
        outcomes: list[Outcome] = []
        for plan in plans:
            if plan.error is not None:
                await self._failed(plan, plan.error)
            elif plan not in retire:
                await self._converge_one(plan)
            outcomes += plan.outcomes
        now = await self.managed.get_many([plan.user.username for plan in plans])
        return outcomes, [user.username for user in now if self._due_again(user)]

    def _due_again(self, user: ManagedUser) -> bool:
        """Changed while this round ran, free, and not waiting for a retry time."""
        due = user.next_attempt_at is None or user.next_attempt_at <= self.repo.clock()
        return user.dirty and user.claimed_by is None and due

    @staticmethod
    def _retires(plan: _Plan) -> bool:
        """A user the bot made, with no grant left and an Id: plain (bulk) deactivation."""
        user = plan.user
        return user.origin is ManagedOrigin.CREATED and not plan.wanted and bool(user.sf_user_id)

    async def _plan(self, user: ManagedUser, catalog: _LazyCatalog) -> _Plan:
        plan = _Plan(user=user, starts=self.repo.clock())
        requests = await self.repo.find(sf_username=user.username, limit=1000)
        revocations = [r for r in requests if r.kind is Kind.REVOKE and r.state in OPEN_REVOCATION]
        revoked = {r.grant_id for r in revocations}
        policy = self.policy()
        for grant in requests:
            if grant.kind is not Kind.GRANT or grant.state not in HOLDING:
                continue
            if grant.id in revoked:
                continue
            app = policy.application(grant.application) or policy.default_application
            try:
                known = await catalog.get()
            except SalesforceError as error:  # no names, no plan: the grant waits and retries
                plan.error = error
                plan.wanted.append(grant)
                if grant.state in NOT_YET_ACTIVE:
                    plan.to_activate.append(grant)
                continue
            plan.expiry = known.assignment_expiry
            ends = {"expires_at": plan.end_of(grant)}
            try:
                plan.access.append(grant_access(grant, app, known).model_copy(update=ends))
            except Unresolvable as problem:
                if grant.state is State.PROVISIONING:
                    plan.outcomes.append(await needs_admin(self.repo, grant, problem))
                if grant.state is not State.ACTIVE:
                    continue
                log.warning(
                    "%s: %s; keeping what still resolves",
                    grant.id,
                    problem.human,
                    extra={"request_id": grant.id, "application": grant.application},
                )
                access = grant_access(grant, app, known, lenient=True)
                plan.access.append(access.model_copy(update=ends))
            plan.wanted.append(grant)
            if grant.state in NOT_YET_ACTIVE:
                plan.to_activate.append(grant)
        for revocation in revocations:
            if revocation.state is State.REQUESTED:
                moved = await self.repo.transition(
                    revocation.id,
                    expected=State.REQUESTED,
                    to=State.DEPROVISIONING,
                    actor="bot",
                    action="deprovisioning_started",
                    changes={
                        "claimed_by": self.worker,
                        "claimed_until": self.repo.clock() + self.lease,
                    },
                    touch=False,
                )
                revocation = moved or revocation
            plan.to_close.append(revocation)
        return plan

    def _desired(self, plan: _Plan) -> DesiredUser:
        return desired_state(plan.user.origin, plan.user.baseline, plan.access)

    # --- users that exist, or should --------------------------------------------------------
    async def _converge_one(self, plan: _Plan) -> None:
        user = plan.user
        try:
            actual: UserState | None = None
            if user.sf_user_id is None:
                found = await self._find_or_create(plan)
                if found is None:
                    return
                user, actual = found
                plan.user = user
            if actual is None:
                actual = await self.gateway.read_user(
                    user.sf_user_id or "", with_expiry=plan.expiry
                )
            if actual is None:
                raise RecordNotFound(f"no User {user.sf_user_id}", error_code="NOT_FOUND")
            desired = self._desired(plan)
            app = self._app_of(plan)
            change = difference(
                actual,
                desired,
                removable(
                    user.origin,
                    frozenset(user.added),
                    user.baseline,
                    desired,
                    frozenset(actual.assignments),
                ),
                dict(app.extra_user_fields) if app else None,
                now=self.repo.clock(),
            )
            outcome = await self.gateway.apply_change(change)
        except SalesforceError as error:
            if _outdated_catalog(error) and not plan.refreshed:
                await self._replan_with_fresh_catalog(plan)
                return
            await self._failed(plan, error)
            return
        if isinstance(outcome, DeactivationBlocked):
            await self._blocked(plan, outcome)
            return
        added = (set(user.added) | set(outcome.assigned)) - {
            i for i, record in actual.assignments.items() if record in change.remove
        }
        action = ProvisionAction.UPDATED if actual.is_active else ProvisionAction.REACTIVATED
        async with self.repo.together() as unit:  # what was done, grants and revocations at once
            await self._record(
                plan,
                changes={"added": added, "frozen_by_bot": False},
                audit={
                    "user_id": actual.id,
                    "fields": {k: v for k, v in change.fields.items() if k != "IsActive"},
                    "active": desired.active,
                    "assigned": list(change.assign),
                    "removed": len(change.remove),
                    "frozen": change.frozen,
                    **({"ends_moved": len(change.reexpire)} if change.reexpire else {}),
                },
                unit=unit,
            )
            await self._settle(unit, plan, outcome, action, actual, desired)

    async def _replan_with_fresh_catalog(self, plan: _Plan) -> None:
        """An Id the cached catalog gave is gone (deleted or recreated in Setup), or assignment
        expiration was turned off since: read the catalog again; a name that is gone makes the
        grant incomplete, a new Id is used."""
        log.info(
            "%s: Salesforce refused what the cached catalog says; reading the catalog again",
            plan.user.username,
        )
        await self.catalog.refresh()
        again = await self._plan(plan.user, _LazyCatalog(self.catalog))
        again.refreshed = True
        await self._converge_one(again)
        plan.outcomes += again.outcomes

    async def _find_or_create(self, plan: _Plan) -> tuple[ManagedUser, UserState | None] | None:
        """The user behind a managed username: created now, found as ours, or adopted."""
        user = plan.user
        if plan.wanted:
            desired = self._desired(plan)
            spec = spec_for(
                plan.wanted,
                desired,
                await self.people(plan.wanted[0].subject_id),
                self._app_of(plan),
                self.cfg,
                username=user.username,
            )
            if plan.expiry:
                now = self.repo.clock()
                ends = {i: end for i, end in desired.ends.items() if end > now}
                spec = spec.model_copy(update={"expirations": ends})
            try:
                created = await self.gateway.create_user(spec)
            except DuplicateUsername as taken:
                found = await self.gateway.find_user_state(user.username, with_expiry=plan.expiry)
                if found is None:  # taken in another org: usernames are global
                    raise taken from None
                return await self._take_over(plan, found)
            async with self.repo.together() as unit:  # the user and its grants at once
                recorded = await self._record(
                    plan,
                    changes={
                        "sf_user_id": created.user_id,
                        "origin": ManagedOrigin.CREATED,
                        "added": set(created.assigned),
                    },
                    audit={"action": "user_created", "user_id": created.user_id},
                    unit=unit,
                )
                if recorded is not None:
                    await self._activate_all(unit, plan, created, self._desired(plan))
            return None
        if user.origin is ManagedOrigin.PENDING and user.create_sent_at is not None:
            # A create may have landed before its answer was lost: look before forgetting.
            found = await self.gateway.find_user_state(user.username)
            bot = await self.gateway.integration_user_id()
            if found is not None and owned_by_bot(user, found, bot):
                ours = await self._record(
                    plan,
                    changes={"sf_user_id": found.id, "origin": ManagedOrigin.CREATED},
                    audit={"action": "orphan_found", "user_id": found.id},
                    keep_lease=True,
                    reached=plan.user.converged_gen,
                )
                if ours is not None:
                    plan.user = ours
                    await self._deactivate([plan])
                return None
        async with self.repo.together() as unit:
            await self._record(plan, changes={}, audit=None, unit=unit)
            await self._settle(unit, plan, None, None, None, self._desired(plan))
        return None

    async def _take_over(
        self, plan: _Plan, found: UserState
    ) -> tuple[ManagedUser, UserState | None] | None:
        user = plan.user
        if owned_by_bot(user, found, await self.gateway.integration_user_id()):
            origin, baseline, action = ManagedOrigin.CREATED, None, "user_found"
        elif may_adopt(found, plan.subject_email):
            origin, action = ManagedOrigin.ADOPTED, "user_adopted"
            baseline = baseline_of(found)
        else:
            await self._ask_admins_to_adopt(plan, found)
            return None
        changes: dict[str, object] = {"sf_user_id": found.id, "origin": origin}
        if baseline is not None:
            changes["baseline"] = baseline
        taken = await self._record(
            plan,
            changes=changes,
            audit={"action": action, "user_id": found.id},
            keep_lease=True,
            reached=plan.user.converged_gen,
        )
        if taken is None:
            return None
        return taken, found

    async def _ask_admins_to_adopt(self, plan: _Plan, found: UserState) -> None:
        human = describe_user(found, plan.subject_email, await self._catalog_now())
        for grant in plan.to_activate:
            if grant.state is not State.PROVISIONING:
                continue
            plan.outcomes.append(
                await needs_admin(
                    self.repo,
                    grant,
                    Unresolvable(
                        ADOPTION_PROBLEM,
                        human,
                        "Adopt the user as it is (the bot will apply this request and, when "
                        "it ends, put the user back as it was), or choose another username.",
                    ),
                    existing_user_id=found.id,
                )
            )
        await self._record(plan, changes={}, audit=None, reached=plan.user.wanted_gen)

    # --- users with no grant left --------------------------------------------------------
    async def _deactivate(self, plans: list[_Plan]) -> None:
        # A leaver whose policy hands their work over waits, frozen, while it moves.
        first = await hand_over_first(self.hand_over, plans, self._leaver, self._holdings)
        for waiting in first.waiting:  # converged again when the transfer is done
            await self._record(waiting.plan, changes={"frozen_by_bot": True}, audit=waiting.audit)
            waiting.plan.outcomes += waiting.outcomes(waiting.plan.to_close)
        plans = [plan for plan, _ in first.go]
        for plan, transfer in first.go:
            plan.transfer = transfer
        if not plans:
            return
        ids = [p.user.sf_user_id or "" for p in plans]
        # What leavers hold is counted before they go, for the offboarding summary and the
        # audit (2 calls per 200 users); a blocked deactivation counts it then (see _blocked).
        held = first.held | await self._holdings(
            [
                p
                for p in plans
                if (any(map(is_offboarding, p.to_close)) or self._leaver(p))
                and (p.user.sf_user_id or "") not in first.held
            ]
        )
        try:
            if len(ids) == 1:
                results = {ids[0]: await self.gateway.deactivate(ids[0])}
            else:
                results = await self.gateway.deactivate_many(ids)
        except SalesforceError as error:
            for plan in plans:
                await self._failed(plan, error)
            return
        for plan, user_id in zip(plans, ids, strict=True):
            result = results.get(user_id)
            if isinstance(result, DeactivationBlocked):
                await self._blocked(plan, result, held.get(user_id))
        # Every user deactivated is recorded, and its revocations closed, in one transaction.
        async with self.repo.together() as unit:
            for plan, user_id in zip(plans, ids, strict=True):
                result = results.get(user_id)
                holdings = held.get(user_id)
                if isinstance(result, DeactivationBlocked):
                    continue
                await self._record(
                    plan,
                    changes={"added": set(), "frozen_by_bot": False},
                    audit={
                        "action": "user_deactivated",
                        "user_id": user_id,
                        "already_inactive": bool(result and result.already_inactive),
                        **({"holdings": holdings.counts()} if holdings else {}),
                    },
                    unit=unit,
                )
                await self._settle(
                    unit, plan, result, None, None, DesiredUser(active=False), holdings=holdings
                )

    def _leaver(self, plan: _Plan) -> Leaver | None:
        return leaver(self._app_of(plan), plan.user, plan.to_close) if self.hand_over else None

    async def _holdings(self, plans: list[_Plan]) -> dict[str, Holdings]:
        """What the users own and what points at them, by Salesforce user Id, read per set of
        objects their applications name; a user Salesforce could not say about is left out."""
        by_objects: dict[tuple[str, ...], list[str]] = {}
        for plan in plans:
            app = self._app_of(plan)
            objects = app.offboarding.objects if app else DEFAULT_OBJECTS
            by_objects.setdefault(objects, []).append(plan.user.sf_user_id or "")
        held: dict[str, Holdings] = {}
        for objects, user_ids in by_objects.items():
            try:
                held |= await self.gateway.read_holdings(user_ids, objects)
            except SalesforceError as error:  # a nicety for the admins: never stops a revocation
                log.warning(
                    "could not count what %d user(s) hold: %s %s",
                    len(user_ids),
                    error.human,
                    error.raw_message,
                )
        return held

    # --- recording ------------------------------------------------------------------------
    async def _record(
        self,
        plan: _Plan,
        *,
        changes: dict[str, object],
        audit: dict[str, object] | None,
        keep_lease: bool = False,
        reached: int | None = None,
        retry_at: datetime | None = None,
        unit: Together | None = None,
    ) -> ManagedUser | None:
        """Store what converging did (in ``unit``'s transaction when given)."""
        record = unit.record_user if unit is not None else self.managed.record
        return await record(
            plan.user,
            worker=self.worker,
            reached_gen=plan.user.wanted_gen if reached is None else reached,
            changes={**changes, "last_error": None} if retry_at is None else changes,
            audit=audit,
            retry_at=retry_at,
            release=not keep_lease,
        )

    async def _failed(self, plan: _Plan, error: SalesforceError) -> None:
        """Each waiting request retries or goes to the admins; the user waits as long."""
        policy = self.policy()
        results: list[Outcome] = []
        for grant in plan.to_activate:
            if grant.state is State.PROVISIONING:
                results.append(await provisioning_failed(self.repo, grant, error, policy))
        for revocation in plan.to_close:
            if revocation.state is State.DEPROVISIONING:
                results.append(await revocation_failed(self.repo, policy, revocation, error))
        plan.outcomes += results
        retries = [r.at for r in results if isinstance(r, WillRetry)]
        # No request carries this user (a cancelled grant's orphan): try again, gently.
        orphan_delay = policy.timings.retry_base_delay * 10
        waiting = bool(retries) or not results
        await self._record(
            plan,
            changes={"last_error": f"{error.human} {error.raw_message}".strip()},
            audit=None,
            # Settled by people (needs_admin, blocked): not dirty until one of them acts.
            reached=plan.user.converged_gen if waiting else plan.user.wanted_gen,
            retry_at=min(retries) if retries else self.repo.clock() + orphan_delay,
        )

    async def _blocked(
        self, plan: _Plan, blocked: DeactivationBlocked, holdings: Holdings | None = None
    ) -> None:
        if holdings is None:
            holdings = (await self._holdings([plan])).get(blocked.user_id)
        await self._record(
            plan,
            changes={"frozen_by_bot": blocked.frozen},
            audit={
                "action": "deactivation_blocked",
                "user_id": blocked.user_id,
                "blocker": blocked.blocker.value,
                "frozen": blocked.frozen,
                **({"holdings": holdings.counts()} if holdings else {}),
            },
        )
        for revocation in plan.to_close:
            if revocation.state is State.BLOCKED:
                continue
            moved = await self.repo.transition(
                revocation.id,
                expected=OPEN_REVOCATION,
                to=State.BLOCKED,
                actor="bot",
                action="deactivation_blocked",
                changes={
                    "needs_admin_reason": blocked.blocker.value,
                    "last_error": blocked.raw_message,
                    "claimed_by": None,
                    "claimed_until": None,
                },
                detail={
                    "blocker": blocked.blocker.value,
                    "salesforce": blocked.raw_message,
                    "frozen": blocked.frozen,
                    **({"holdings": holdings.counts()} if holdings else {}),
                },
                touch=False,
            )
            if moved is None:
                continue
            grant = await self.repo.get(moved.grant_id) if moved.grant_id else None
            plan.outcomes.append(
                RevocationBlocked(revocation=moved, grant=grant, blocked=blocked, holdings=holdings)
            )

    async def _activate_all(
        self, unit: Together, plan: _Plan, result: ProvisionResult, desired: DesiredUser
    ) -> None:
        """The grants this round gave access for become active (in ``unit``'s transaction)."""
        grants = [g.id for g in plan.to_activate]
        now = await unit.grant_states(grants, OPEN_REVOCATION) if grants else {}
        for grant in plan.to_activate:
            state, revoked = now.get(grant.id, (grant.state, False))
            if revoked:
                # Revoked while the call was out: the next round closes it; never announce it.
                continue
            # The state read under the write lock is the one to move from (no second look).
            await self._activate(unit, plan, grant, result, desired, state)

    async def _settle(
        self,
        unit: Together,
        plan: _Plan,
        outcome: ChangeApplied | Deactivated | None,
        action: ProvisionAction | None,
        actual: UserState | None,
        desired: DesiredUser,
        *,
        holdings: Holdings | None = None,
    ) -> None:
        user = plan.user
        if actual is not None and action is not None:
            result = ProvisionResult(
                user_id=actual.id,
                username=actual.username,
                action=action if plan.to_activate else ProvisionAction.UPDATED,
                assigned=tuple(sorted(desired.assignments)),
            )
            await self._activate_all(unit, plan, result, desired)
        kept = tuple(g.id for g in plan.wanted)
        kept_sets = {name for g in plan.wanted for name in g.permission_sets}
        removed = outcome.removed if isinstance(outcome, ChangeApplied) else 0
        for revocation in plan.to_close:
            plan.outcomes.append(
                await close_revocation(
                    unit,
                    revocation,
                    user_id=user.sf_user_id,
                    deactivated=not desired.active and user.sf_user_id is not None,
                    already_inactive=isinstance(outcome, Deactivated) and outcome.already_inactive,
                    removed=removed
                    if not isinstance(outcome, Deactivated)
                    else outcome.removed_assignments,
                    kept_for=kept,
                    restored=user.origin is ManagedOrigin.ADOPTED and not desired.active,
                    removed_names=tuple(
                        n for n in revocation.permission_sets if n not in kept_sets
                    ),
                    holdings=holdings,
                    transfer=plan.transfer,
                )
            )

    async def _activate(
        self,
        unit: Together,
        plan: _Plan,
        grant: AccessRequest,
        result: ProvisionResult,
        desired: DesiredUser,
        state: State,
    ) -> None:
        # A newer profile replaces an older grant's while it lasts: its owners are told.
        supersedes = desired.superseded if desired.profile_grant == grant.id else ()
        expires = plan.end_of(grant)
        done = await unit.transition(
            grant.id,
            expected=state if state in NOT_YET_ACTIVE else NOT_YET_ACTIVE,
            to=State.ACTIVE,
            actor="bot",
            action="provisioned",
            changes={
                "sf_user_id": result.user_id,
                "sf_username": result.username,
                "expires_at": expires,
                "claimed_by": None,
                "claimed_until": None,
                "last_error": None,
                "needs_admin_reason": None,
            },
            detail={
                "salesforce": result.action.value,
                "user_id": result.user_id,
                "assigned": list(result.assigned),
                "api_calls": result.api_calls,
                **({"supersedes": list(supersedes)} if supersedes else {}),
            },
            touch=False,
        )
        if done is None:
            plan.outcomes.append(Skipped(request_id=grant.id, why="state changed meanwhile"))
            return
        older = [g for g in plan.wanted if g.id in supersedes]
        plan.outcomes.append(Provisioned(request=done, result=result, supersedes=tuple(older)))

    async def _catalog_now(self) -> Catalog | None:
        try:
            return await self.catalog.current()
        except SalesforceError:  # names are a nicety here; Ids will do
            return None

    def _app_of(self, plan: _Plan) -> Application | None:
        policy = self.policy()
        requests = plan.wanted or plan.to_close
        if not requests:
            return None
        return policy.application(requests[0].application) or policy.default_application


def _outdated_catalog(error: SalesforceError) -> bool:
    """Salesforce refused an Id or the ExpirationDate field the cached catalog vouched for."""
    if error.error_code == STALE_ID:
        return True
    return error.error_code == "INVALID_FIELD" and EXPIRATION_DATE in error.raw_message


async def close_revocation(
    repo: RequestRepository | Together,
    revocation: AccessRequest,
    *,
    user_id: str | None,
    deactivated: bool,
    already_inactive: bool,
    removed: int,
    kept_for: tuple[str, ...],
    restored: bool,
    removed_names: tuple[str, ...] = (),
    holdings: Holdings | None = None,
    transfer: Transfer | None = None,
) -> RevokedAccess | Skipped:
    """Close the grant, then the revocation (a crash in between re-runs harmlessly)."""
    grant = None
    if revocation.grant_id:
        grant = await repo.transition(
            revocation.grant_id,
            expected=HOLDING,
            to=State.REVOKED,
            actor="bot",
            action="revoked",
            changes={"claimed_by": None, "claimed_until": None},
            detail={"revocation": revocation.id, "kept_active_for": list(kept_for)},
            touch=False,
        )
        grant = grant or await repo.get(revocation.grant_id)
    if not deactivated and not restored:
        action = "access_reduced" if kept_for else "revoked_without_deactivation"
    else:
        action = "user_restored" if restored else "deactivated"
    done = await repo.transition(
        revocation.id,
        expected=OPEN_REVOCATION,
        to=State.DONE,
        actor="bot",
        action=action,
        changes={"claimed_by": None, "claimed_until": None, "last_error": None},
        detail={
            "user_id": user_id,
            "already_inactive": already_inactive,
            "removed_assignments": removed,
            "kept_active_for": list(kept_for),
            **({"holdings": holdings.counts()} if holdings and deactivated else {}),
        },
        touch=False,
    )
    if done is None:
        return Skipped(request_id=revocation.id, why="state changed while deprovisioning")
    return RevokedAccess(
        revocation=done,
        grant=grant,
        already_inactive=already_inactive,
        kept_active_for=kept_for,
        removed_assignments=removed,
        deactivated=deactivated and not restored,
        restored=restored,
        removed=() if deactivated or restored else removed_names,
        holdings=holdings,
        transfer=transfer,
    )

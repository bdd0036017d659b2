"""The App Home tab: built for each viewer when opened, republished when what it shows changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from handlers.flows.approvals import needs_several, request_tier, stage_approvers
from handlers.flows.choices import LicenseChoice, build_choices
from handlers.flows.eligibility import GroupMembers
from handlers.policy import Application, Policy
from handlers.views.catalog_admin import CatalogAdminView
from handlers.views.catalog_values import CatalogKind
from handlers.views.home import build_home
from salesforce.errors import SalesforceError
from salesforce.models import Catalog
from storage.home_tabs import HomeTab, HomeTabs
from storage.models import AccessRequest, Kind, State
from storage.requests import RequestRepository

if TYPE_CHECKING:
    from handlers.deps import Deps

log = logging.getLogger(__name__)

LIST_LIMIT = 100
ESCALATED = (State.NEEDS_ADMIN, State.BLOCKED)


async def requests_of(repo: RequestRepository, user_id: str) -> list[AccessRequest]:
    """The grants ``user_id`` holds or asked for, and removals of them still under way."""
    found: dict[str, AccessRequest] = {}
    for rows in (
        await repo.find(subject_id=user_id, limit=LIST_LIMIT),
        await repo.find(requester_id=user_id, limit=LIST_LIMIT),
    ):
        for req in rows:
            if req.kind is Kind.GRANT or req.state is not State.DONE:
                found[req.id] = req
    return list(found.values())


async def waiting_for(
    repo: RequestRepository,
    policy: Policy,
    user_id: str,
    groups: GroupMembers | None = None,
) -> list[AccessRequest]:
    """Requests ``user_id`` may decide now, never their own: pending in an application they
    own or, for a request of several stages, at a stage whose approvers include them."""
    waiting: list[AccessRequest] = []
    for app in policy.applications:
        staged = any(s.approvers is not None for r in app.tiers.values() for s in r.steps)
        if not app.is_owner(user_id) and not staged:
            continue
        rows = await repo.find(
            states=[State.PENDING_APPROVAL], application=app.name, limit=LIST_LIMIT
        )
        for row in rows:
            if user_id in (row.requester_id, row.subject_id):
                continue
            if groups is not None and needs_several(app, request_tier(row)):
                stages = app.stages_for(request_tier(row))
                stage = stages[min(row.approval_stage, len(stages) - 1)]
                if user_id in await stage_approvers(stage, app, groups):
                    waiting.append(row)
            elif app.is_owner(user_id):
                waiting.append(row)
    return waiting


async def escalated_to(
    repo: RequestRepository, policy: Policy, user_id: str
) -> list[AccessRequest]:
    """Requests an admin of an application ``user_id`` administers has to step in on."""
    found: list[AccessRequest] = []
    for app in policy.applications:
        if app.is_admin(user_id):
            found += await repo.find(states=ESCALATED, application=app.name, limit=LIST_LIMIT)
    return found


def offered_seats(apps: Sequence[Application], catalog: Catalog) -> list[LicenseChoice]:
    """The seats of every license the applications offer, each license once."""
    seats: dict[str, LicenseChoice] = {}
    for app in apps:
        for lic in build_choices(app, catalog).licenses:
            seats.setdefault(lic.name, lic)
    return list(seats.values())


class HomePublisher:
    """Publishes Home tabs, and republishes those of the people a changed request concerns."""

    def __init__(self, tabs: HomeTabs, *, delay: float = 0.05) -> None:
        self.tabs = tabs
        self._delay = delay
        self._deps: Deps | None = None
        self._pending: set[str] = set()
        self._scheduled = False

    def bind(self, deps: Deps) -> None:
        """Attach the collaborators (the publisher is itself one of them)."""
        self._deps = deps

    @property
    def deps(self) -> Deps:
        """The bound collaborators."""
        if self._deps is None:
            raise RuntimeError("HomePublisher.bind() was not called")
        return self._deps

    async def build(self, user_id: str, tab: HomeTab | None = None) -> View:
        """The Home tab of ``user_id`` as it should look now."""
        deps = self.deps
        policy = deps.policy()
        tab = tab or await self.tabs.get(user_id)
        administered = [a for a in policy.applications if a.is_admin(user_id)]
        seats: list[LicenseChoice] | None = None
        admin_view: CatalogAdminView | None = None
        if administered:
            catalog = await self._catalog()
            if catalog is not None:
                seats = offered_seats(administered, catalog)
                shown = next(
                    (a for a in administered if tab and a.name == tab.application),
                    administered[0],
                )
                admin_view = CatalogAdminView.from_catalog(shown, catalog)
        return build_home(
            user_id,
            policy=policy,
            mine=await requests_of(deps.repo, user_id),
            waiting=await waiting_for(deps.repo, policy, user_id, deps.user_groups),
            escalations=await escalated_to(deps.repo, policy, user_id),
            seats=seats,
            catalog_admin=admin_view,
            now=deps.clock(),
            catalog_kind=(tab.catalog_kind if tab else None) or CatalogKind.PROFILES,
            catalog_page=tab.catalog_page if tab else 0,
            command=deps.config.command,
            labels=await deps.catalog.labels(),
            reviews=await deps.reviews.waiting_for(user_id),
        )

    async def _catalog(self) -> Catalog | None:
        try:
            return await self.deps.catalog.current()
        except SalesforceError as error:
            log.warning("Home tab without the catalog: %s", error.human)
            return None

    async def publish(self, user_id: str) -> None:
        """Build and publish the Home tab of ``user_id``."""
        view = await self.build(user_id)
        try:
            await self.deps.client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            log.warning(
                "could not publish the Home of %s: %s", user_id, error.response.get("error")
            )

    def request_changed(self, request: AccessRequest) -> None:
        """Repository hook: the request's people, owners and admins may see something new."""
        app = self.deps.policy().application(request.application)
        people = {request.requester_id, request.subject_id}
        if app is not None:
            people.update(app.owners, app.admins)
            # The approvers the request's stage names (a security group, say) see it wait for
            # them, and go when it moves on.
            stages = app.stages_for(request_tier(request))
            named = stages[min(request.approval_stage, len(stages) - 1)].approvers or ()
            people.update(p for p in named if not p.startswith("S"))
            groups = sorted(p for p in named if p.startswith("S"))
            if groups:
                self.deps.worker.spawn(self._refresh_groups(groups))
        self.refresh(people)

    async def _refresh_groups(self, groups: Sequence[str]) -> None:
        members: set[str] = set()
        for group in groups:
            members |= await self.deps.user_groups.members(group)
        self.refresh(members)

    def refresh(self, user_ids: Iterable[str]) -> None:
        """Republish, shortly and once, the Home of each of ``user_ids`` who has one."""
        self._pending.update(user_ids)
        if not self._scheduled:
            # A burst of transitions (approved, provisioning, active) ends in one publish.
            self._scheduled = True
            self.deps.worker.spawn(self._flush())

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(self._delay)
            while self._pending:
                wanted, self._pending = self._pending, set()
                for user_id in sorted(await self.tabs.published_among(wanted)):
                    await self.publish(user_id)
        finally:
            self._scheduled = False


def register(app: AsyncApp, deps: Deps) -> None:
    """Publish the Home tab whenever someone opens it."""
    homes = deps.homes

    async def on_home_opened(event: dict[str, Any]) -> None:
        user_id = event.get("user")
        if event.get("tab") != "home" or not isinstance(user_id, str):
            return
        await homes.tabs.opened(user_id)
        await homes.publish(user_id)

    app.event("app_home_opened")(on_home_opened)

"""Opening an access review: which lines, who reviews each, and what each line shows.

A reviewer never gets a line about their own access: it goes to another reviewer, else to
the application's admins, else to its owners.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from handlers.flows.ports import SalesforceGateway
from handlers.flows.powerful import too_powerful
from handlers.flows.reconcile import not_granted
from handlers.policy import Application, Policy
from handlers.review_policy import OWNERS, Reviews, ReviewScope
from salesforce.models import Catalog, SalesforceUser
from storage.due import DueWork
from storage.models import AccessRequest, State
from storage.review_models import Campaign, NewItem
from storage.reviews import Reviews as ReviewStore

GroupMembers = Callable[[str], Awaitable[frozenset[str]]]
# A Slack member id -> their email (to know a reviewer's own Salesforce user among the drift).
EmailOf = Callable[[str], Awaitable[str]]


def review_settings(app: Application) -> Reviews:
    """The application's ``reviews:``, or the defaults for a campaign started by hand."""
    return app.reviews or Reviews()


async def reviewers_of(app: Application, settings: Reviews, members: GroupMembers) -> list[str]:
    """The member ids who review ``app``, in the policy's order (user groups expanded)."""
    if settings.by_owners:
        return list(app.owners)
    found: list[str] = []
    for entry in settings.reviewers:
        if entry == OWNERS:
            found += app.owners
        elif entry.startswith("S"):
            found += sorted(await members(entry))
        else:
            found.append(entry)
    return list(dict.fromkeys(found))


def holds_text(grant: AccessRequest) -> str:
    """What a grant gives, in one line: profile · role · sets, and its end."""
    parts = [grant.profile or "no profile"]
    if grant.role:
        parts.append(grant.role)
    if grant.permission_sets:
        parts.append(", ".join(n.removeprefix("group:") for n in grant.permission_sets))
    return " · ".join(parts)


async def _high(
    gateway: SalesforceGateway, catalog: Catalog, grants: Sequence[AccessRequest]
) -> list[AccessRequest]:
    """Grants of a profile, set or group that could take over the org (each checked once)."""
    verdict: dict[tuple[str, str], bool] = {}

    async def powerful(kind: str, name: str) -> bool:
        if (kind, name) not in verdict:
            found = await too_powerful(gateway, catalog, kind=kind, name=name, title=name)
            verdict[(kind, name)] = found is not None
        return verdict[(kind, name)]

    chosen = []
    for grant in grants:
        records = [("profiles", grant.profile or "")]
        for name in grant.permission_sets:
            kind = "groups" if name.startswith("group:") else "permission_sets"
            records.append((kind, name.removeprefix("group:")))
        for kind, name in records:
            if name and await powerful(kind, name):
                chosen.append(grant)
                break
    return chosen


def _grant_line(grant: AccessRequest, reviewer: str) -> NewItem:
    return NewItem(
        grant_id=grant.id,
        sf_user_id=grant.sf_user_id,
        username=grant.sf_username or grant.subject_email,
        subject_id=grant.subject_id,
        subject_name=grant.subject_name,
        holds=holds_text(grant),
        since=grant.decided_at or grant.created_at,
        approved_by=grant.decided_by,
        reviewer=reviewer,
    )


def _drift_line(
    user: SalesforceUser, catalog: Catalog, reviewer: str, subject_id: str | None
) -> NewItem:
    names = {p.id: p.name for p in catalog.profiles}
    names.update((r.id, r.developer_name) for r in catalog.roles)
    holds = (
        " · ".join(names.get(i, i) for i in (user.profile_id, user.role_id) if i) or "no profile"
    )
    return NewItem(
        drift=True,
        sf_user_id=user.id,
        username=user.username,
        subject_id=subject_id,
        subject_name=user.username,
        holds=f"{holds} (no grant)",
        reviewer=reviewer,
    )


class Assigner:
    """Shares lines out evenly, never giving anyone their own."""

    def __init__(self, reviewers: Sequence[str], app: Application) -> None:
        self._reviewers = list(reviewers) or list(app.owners)
        self._fallbacks = [*app.admins, *app.owners]
        self._load: Counter[str] = Counter()

    def pick(self, subject_id: str | None) -> str:
        """The least-loaded reviewer who is not ``subject_id``."""
        candidates = [r for r in self._reviewers if r != subject_id]
        if not candidates:
            candidates = [r for r in self._fallbacks if r != subject_id] or self._fallbacks
        chosen = min(candidates, key=lambda r: (self._load[r], candidates.index(r)))
        self._load[chosen] += 1
        return chosen


async def collect_lines(
    campaign: Campaign,
    *,
    due: DueWork,
    gateway: SalesforceGateway,
    catalog: Catalog,
    policy: Policy,
    members: GroupMembers,
    email_of: EmailOf,
) -> list[NewItem]:
    """Every line of the campaign, assigned, with each user's last login (read once)."""
    app = policy.application(campaign.application)
    if app is None:
        return []
    settings = review_settings(app)
    reviewers = await reviewers_of(app, settings, members)
    assigner = Assigner(reviewers, app)
    scope = ReviewScope(campaign.scope)
    lines: list[NewItem] = []
    if scope is ReviewScope.DRIFT:
        bot_user = await gateway.integration_user_id()
        users = await not_granted(due, gateway, catalog, policy, app.name)
        # A drift user has no Slack member on record: one whose email is a possible
        # reviewer's is that reviewer's own (few reviewers: one users.info each, cached).
        people = [*reviewers, *app.admins, *app.owners]
        own = {
            email.casefold(): member
            for member in dict.fromkeys(people)
            if (email := await email_of(member))
        }
        for user in sorted(users, key=lambda u: u.username):
            if user.id[:15] == bot_user[:15]:  # the bot's own user is never up for review
                continue
            subject = own.get((user.email or "").casefold()) or own.get(user.username.casefold())
            lines.append(_drift_line(user, catalog, assigner.pick(subject), subject))
    else:
        grants = await due.grants_in((State.ACTIVE,), application=app.name)
        if scope is ReviewScope.HIGH:
            grants = await _high(gateway, catalog, grants)
        grants.sort(key=lambda g: ((g.subject_name or g.subject_email).casefold(), g.id))
        lines = [_grant_line(g, assigner.pick(g.subject_id)) for g in grants]
    logins = await gateway.last_logins([i.sf_user_id for i in lines if i.sf_user_id])
    return [
        line.model_copy(update={"last_login": logins.get(line.sf_user_id or "")}) for line in lines
    ]


async def open_campaign(
    store: ReviewStore,
    campaign: Campaign,
    lines: Sequence[NewItem],
    *,
    app: Application,
    now: datetime,
) -> Campaign | None:
    """Store the lines and open the campaign (None: another process opened it)."""
    settings = review_settings(app)
    deadline = now + settings.deadline
    return await store.open(
        campaign,
        lines,
        deadline_at=deadline,
        remind_at=deadline - settings.remind_before,
        detail={"unanswered": campaign.unanswered},
    )

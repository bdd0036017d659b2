"""Users no grant explains join the review: kept, they become managed; revoked, they go."""

from __future__ import annotations

import json

from bot.sandbox.stage import BOB, JANE, OLIVIA, OMAR, demo_policy
from handlers.flows.reconcile import not_granted
from handlers.ids import ActionId
from handlers.policy import Policy
from storage.due import DueWork
from storage.models import Kind, ManagedOrigin, State
from storage.review_models import Outcome
from tests.e2e.lifecycle_steps import ShiftedClock, start, tick
from tests.e2e.review_steps import all_active, click_line, granted, open_review, review_message
from tests.e2e.stages import StageOpener
from tests.security.actors import KIM


async def test_a_drift_user_kept_becomes_managed_and_one_revoked_is_deactivated(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    policy = Policy(
        applications=demo_policy(reviews={"scope": "drift", "unanswered": "keep"}).applications
    )
    stage = await start(open_stage, clock, policy=policy)
    stage.slack.add_user(KIM.id, name=KIM.name, real_name=KIM.real_name, email=KIM.email)
    profile = stage.org.id_of("Profile", "Sales User")
    kim_user = stage.org.add_user("kim.park@acme.com", profile, first_name="Kim", last_name="Park")
    # an owner's own Salesforce user that no grant explains: another reviewer gets the line
    stage.org.add_user("omar.haddad@acme.com", profile, first_name="Omar", last_name="Haddad")
    try:
        campaign = await open_review(stage)
        deps = stage.runtime.deps
        items = {i.username: i for i in await deps.reviews.items(campaign.id)}
        # the org's users nobody granted; never the bot's own user
        assert {"kim.park@acme.com", "maria.garcia@acme.com"} <= set(items)
        assert "accessbot@acme.com" not in items
        kim, maria = items["kim.park@acme.com"], items["maria.garcia@acme.com"]
        omars = items["omar.haddad@acme.com"]
        assert omars.subject_id == OMAR.id and omars.reviewer == OLIVIA.id
        assert kim.drift and kim.grant_id is None and kim.reviewer in (OMAR.id, OLIVIA.id)
        shown = json.dumps(review_message(stage, kim.reviewer).blocks)  # type: ignore[union-attr]
        assert "no grant: nobody approved it" in shown

        await click_line(stage, kim.reviewer, kim.reviewer, kim, ActionId.REVIEW_KEEP)
        await click_line(stage, maria.reviewer, maria.reviewer, maria, ActionId.REVIEW_REVOKE)
        await tick(stage)
        await tick(stage)

        kept = await deps.reviews.item(kim.id)
        assert kept is not None and kept.outcome is Outcome.ADOPTED and kept.grant_id
        grant = await deps.repo.get(kept.grant_id)
        assert grant is not None and grant.state is State.ACTIVE
        assert grant.sf_user_id == kim_user and grant.profile == "Sales User"
        assert grant.subject_id == KIM.id  # found in Slack by the user's email
        assert grant.requester_id == kim.reviewer  # who kept it answers for it
        managed = await deps.repo.managed.get("kim.park@acme.com")
        assert managed is not None and managed.origin is ManagedOrigin.ADOPTED
        assert not managed.dirty  # the converger read it and found nothing to change
        user = stage.org.user(kim_user)
        assert user is not None and user.is_active

        revoked = await deps.reviews.item(maria.id)
        assert revoked is not None and revoked.outcome is Outcome.DEACTIVATED
        gone = stage.org.user_by_username("maria.garcia@acme.com")
        assert gone is not None and not gone.is_active
        assert "Sales_Ops" in stage.org.assignments_of(gone.id)  # only what the bot added goes

        # the reconciliation no longer reports Kim (a grant explains her now), nor Maria
        left = await not_granted(
            DueWork(stage.runtime.db), deps.gateway, await deps.catalog.current(), policy, "sales"
        )
        assert {u.username for u in left}.isdisjoint({"kim.park@acme.com", "maria.garcia@acme.com"})
        assert await deps.repo.find(grant_id=grant.id, kind=Kind.REVOKE) == []
    finally:
        await stage.close()


async def test_a_high_review_asks_only_about_access_that_could_take_over_the_org(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    profiles = (*demo_policy().applications[0].profiles, "System Administrator")
    policy = Policy(
        applications=demo_policy(reviews={"scope": "high"}, profiles=profiles).applications
    )
    stage = await start(open_stage, clock, policy=policy)
    stage.slack.set_rate_limits(enabled=False)  # about scope, not Slack's limits
    try:
        plain = await granted(stage, JANE, duration="permanent")
        admin = await granted(
            stage,
            BOB,
            profile="System Administrator",
            role=None,
            permission_sets=(),
            duration="permanent",
        )
        await all_active(stage, [plain, admin])
        campaign = await open_review(stage)
        items = await stage.runtime.deps.reviews.items(campaign.id)
        assert [i.grant_id for i in items] == [admin.id]
        assert "System Administrator" in items[0].holds
    finally:
        await stage.close()

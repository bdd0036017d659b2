"""Access reviews over signed HTTP: three reviewers, forty grants, kept, revoked, unanswered.

The campaign is asked for with ``accessbot review start`` (its function, on the database),
opened by the scheduler, decided with clicks on each reviewer's one message, survives a
restart, and closes at its deadline as the policy says; the export matches the org.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bot.review_cli import export_reviews
from bot.sandbox.stage import (
    ADA,
    BOB,
    JANE,
    JORDAN,
    MALLORY,
    OLIVIA,
    OMAR,
    DemoPerson,
    Stage,
    demo_policy,
)
from handlers.ids import ActionId
from handlers.policy import Policy
from storage.models import AuditEntry, State
from storage.review_models import Decision, Outcome
from tests.e2e.lifecycle_steps import ShiftedClock, start, tick
from tests.e2e.review_steps import (
    all_active,
    click_line,
    grant_many,
    granted,
    later,
    lines_of,
    open_review,
    review_message,
)
from tests.e2e.stages import StageOpener
from tests.e2e.steps import current
from tests.e2e.test_home import open_home
from tests.security.actors import roomy_org

STAFF = tuple(
    DemoPerson(f"U0R{n:03d}", f"r{n}", f"Review Person{n:03d}", f"review{n:03d}@acme.com")
    for n in range(38)
)
REVIEWERS = (OMAR.id, OLIVIA.id, JORDAN.id)


def review_policy(**reviews: object) -> Policy:
    """The demo application, reviewed by Omar, Olivia and Jordan."""
    settings = {
        "reviewers": list(REVIEWERS),
        "deadline": "P7D",
        "remind_before": "P2D",
        "unanswered": "revoke",
        **reviews,
    }
    return Policy(applications=demo_policy(reviews=settings).applications)


async def test_a_campaign_of_forty_grants_kept_revoked_and_unanswered(
    tmp_path: Path, open_stage: StageOpener
) -> None:
    clock = ShiftedClock()
    stage = await start(open_stage, clock, policy=review_policy(), org=roomy_org())
    for person in STAFF:
        stage.slack.add_user(
            person.id, name=person.name, real_name=person.real_name, email=person.email
        )
    # About reviews, not Slack's limits: forty grants send Omar eighty messages first
    # (test_rate_limits.py covers bursts; the review bench runs under the limits).
    stage.slack.set_rate_limits(enabled=False)
    try:
        grants = await grant_many(stage, (*STAFF, JORDAN))
        # a second grant on one user: revoking it only reduces the user
        second = await granted(
            stage,
            STAFF[0],
            profile="Sales User",
            permission_sets=("Reports_Export",),
            duration="permanent",
        )
        (second,) = await all_active(stage, [second])
        grants.append(second)
        assert len(grants) == 40
        login = clock() - later(3)
        stage.org.record_login(grants[5].sf_user_id or "", login)

        campaign = await open_review(stage)
        deps = stage.runtime.deps
        items = await deps.reviews.items(campaign.id)
        assert len(items) == 40 and {i.grant_id for i in items} == {g.id for g in grants}
        assert set(Counter(i.reviewer for i in items)) == set(REVIEWERS)
        assert max(Counter(i.reviewer for i in items).values()) <= 14
        # nobody reviews their own access
        (jordans,) = [i for i in items if i.subject_id == JORDAN.id]
        assert jordans.reviewer != JORDAN.id
        # one message each, within Slack's 50 blocks, with what each line needs
        for reviewer in REVIEWERS:
            message = review_message(stage, reviewer)
            assert message is not None and len(message.blocks) <= 50
        logged = next(i for i in items if i.grant_id == grants[5].id)
        assert logged.last_login is not None and abs(logged.last_login - login).seconds < 2
        shown = json.dumps(review_message(stage, logged.reviewer).blocks)  # type: ignore[union-attr]
        assert "approved by <@U0OMAR>" in shown and "last login <!date^" in shown
        assert "Sales User" in shown and "since <!date^" in shown

        # a click on someone else's line changes nothing and says why
        omars = await lines_of(stage, campaign, OMAR.id)
        await click_line(stage, MALLORY.id, OMAR.id, omars[0], ActionId.REVIEW_REVOKE)
        await click_line(stage, JORDAN.id, OMAR.id, omars[0], ActionId.REVIEW_KEEP)
        said = [
            r.text for r in stage.slack.responses(MALLORY.id) + stage.slack.responses(JORDAN.id)
        ]
        assert len(said) == 2 and all("Only <@U0OMAR>" in t for t in said), said
        assert (await deps.reviews.item(omars[0].id)).decision is None  # type: ignore[union-attr]
        refused = [e for e in await audit_rows(stage) if e.action == "review_refused"]
        assert {e.actor for e in refused} == {MALLORY.id, JORDAN.id}

        # Omar keeps one, revokes two (the second grant: reduced; another: deactivated)
        reduced = next(i for i in items if i.grant_id == second.id)
        await click_line(stage, OMAR.id, OMAR.id, omars[0], ActionId.REVIEW_KEEP)
        to_revoke = [i for i in omars[1:] if i.subject_id != STAFF[0].id][:1]
        for item in to_revoke:
            await click_line(stage, OMAR.id, OMAR.id, item, ActionId.REVIEW_REVOKE)
        await click_line(stage, reduced.reviewer, reduced.reviewer, reduced, ActionId.REVIEW_REVOKE)
        # the user's other grant is kept: the user stays, without the revoked grant's set
        staying = await deps.reviews.item(next(i.id for i in items if i.grant_id == grants[0].id))
        assert staying is not None
        decided = 3 + (staying.decision is None)
        if staying.decision is None:
            await click_line(
                stage, staying.reviewer, staying.reviewer, staying, ActionId.REVIEW_KEEP
            )
        # progress shows in place, in the same message
        message = review_message(stage, OMAR.id)
        assert message is not None and "decided*" in json.dumps(message.blocks)
        assert "kept by <@U0OMAR>" in json.dumps(current(stage, message).blocks)

        # the bot restarts mid-campaign: nothing is lost, the buttons still work
        before = [
            (i.id, i.reviewer, i.decision, i.decided_by, i.outcome)
            for i in await deps.reviews.items(campaign.id)
        ]
        await stage.restart_bot()
        deps = stage.runtime.deps
        after = [
            (i.id, i.reviewer, i.decision, i.decided_by, i.outcome)
            for i in await deps.reviews.items(campaign.id)
        ]
        assert after == before
        assert sum(1 for i in after if i[2] is not None) == decided
        # the Home tab lists what waits for each reviewer
        home = json.dumps(await open_home(stage, JORDAN.id))
        assert "Access reviews waiting for you" in home and campaign.id in home
        olivias = await lines_of(stage, campaign, OLIVIA.id)
        olivia_message = review_message(stage, OLIVIA.id)
        assert olivia_message is not None
        # Olivia keeps one line on the second page, then keeps the rest
        await stage.workspace.click(
            OLIVIA.id,
            current(stage, olivia_message),
            ActionId.REVIEW_PAGE,
            value=f"{campaign.id}|1",
        )
        await stage.settle()
        await click_line(stage, OLIVIA.id, OLIVIA.id, olivias[10], ActionId.REVIEW_KEEP)
        page = json.dumps(current(stage, olivia_message).blocks)
        assert "page 2 of 2" in page
        await stage.workspace.click(
            OLIVIA.id,
            current(stage, olivia_message),
            ActionId.REVIEW_KEEP_REST,
            value=campaign.id,
        )
        await stage.settle()
        undecided = {i.id for i in olivias if i.decision is None}
        now_kept = [i for i in await lines_of(stage, campaign, OLIVIA.id) if i.id in undecided]
        assert len(now_kept) >= 12 and all(i.decision is Decision.KEEP for i in now_kept)
        await tick(stage)  # the revocations converge; outcomes follow
        await tick(stage)

        # reminders before the deadline, to those with lines left only
        clock.advance(later(5.5))
        await tick(stage)
        reminded = {r for r in REVIEWERS if any("Reminder" in m.text for m in stage.slack.dms(r))}
        assert reminded == {OMAR.id, JORDAN.id}
        # the deadline: Jordan's lines (and Omar's undecided) are revoked by the policy
        clock.advance(later(2))
        await tick(stage)
        await tick(stage)
        await tick(stage)
        closed = await deps.reviews.get(campaign.id)
        assert closed is not None and closed.state.value == "closed"
        final = await deps.reviews.items(campaign.id)
        assert all(i.outcome is not None and i.outcome is not Outcome.REVOKING for i in final), [
            (i.id, i.outcome) for i in final if i.outcome in (None, Outcome.REVOKING)
        ]
        by_bot = [i for i in final if i.decided_by == "bot"]
        assert by_bot and all(i.decision is Decision.REVOKE for i in by_bot)
        assert {i.reviewer for i in by_bot} <= {OMAR.id, JORDAN.id}
        assert any(i.outcome is Outcome.REDUCED for i in final)
        assert any(i.outcome is Outcome.DEACTIVATED for i in final)
        summary = [
            m for m in stage.slack.dms(ADA.id) if "Access review closed" in json.dumps(m.blocks)
        ]
        assert len(summary) == 1 and "40 lines" in summary[0].text

        # the export matches the org
        out = tmp_path / "review.jsonl"
        database = stage.runtime.settings.database
        assert await export_reviews(database, "jsonl", str(out)) == 40
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        for row in rows:
            grant = await deps.repo.get(row["grant"])
            assert grant is not None and grant.sf_user_id
            user = stage.org.user(grant.sf_user_id)
            assert user is not None
            held = stage.org.assignments_of(grant.sf_user_id)
            others = await deps.repo.find(
                sf_username=grant.sf_username or "", states=[State.ACTIVE]
            )
            # the user is active exactly when some grant of theirs is kept
            assert user.is_active == bool(others), (row, others)
            if row["outcome"] == "kept":
                assert grant.state is State.ACTIVE, row
                assert set(grant.permission_sets) <= set(held), row
            elif row["outcome"] == "deactivated":
                assert not user.is_active and grant.state is State.REVOKED, row
            elif row["outcome"] == "reduced":
                assert grant.state is State.REVOKED and "Reports_Export" not in held, row
                assert user.is_active and "Sales_Ops" in held, row
            else:
                raise AssertionError(row)
            assert row["reviewer"] and row["decided_at"] and row["decision"]
        audit = [e.action for e in await audit_rows(stage)]
        assert "review_opened" in audit and "review_closed" in audit
    finally:
        await stage.close()


async def audit_rows(stage: Stage) -> list[AuditEntry]:
    """Every row of the audit log."""
    return [e async for e in stage.runtime.deps.repo.audit.entries()]


async def test_a_decision_a_crash_interrupted_is_carried_out_and_silence_is_escalated(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    policy = review_policy(reviewers=["S0AUDIT"], unanswered="escalate")
    stage = await start(open_stage, clock, policy=policy)
    stage.slack.set_usergroup("S0AUDIT", [OLIVIA.id, JORDAN.id])
    try:
        grants = await grant_many(stage, (JANE, BOB, JORDAN))
        campaign = await open_review(stage)
        deps = stage.runtime.deps
        items = await deps.reviews.items(campaign.id)
        # the user group's members review; Jordan's own line goes to Olivia
        assert {i.reviewer for i in items} == {OLIVIA.id, JORDAN.id}
        assert next(i for i in items if i.subject_id == JORDAN.id).reviewer == OLIVIA.id
        janes = next(i for i in items if i.subject_id == JANE.id)
        # the process dies after recording the decision, before opening the revocation
        assert await deps.reviews.decide(janes, Decision.REVOKE, actor=janes.reviewer)
        await stage.restart_bot()
        deps = stage.runtime.deps
        await tick(stage)
        await tick(stage)
        done = await deps.reviews.item(janes.id)
        assert done is not None and done.outcome is Outcome.DEACTIVATED and done.revocation_id
        jane = next(g for g in grants if g.subject_id == JANE.id)
        user = stage.org.user(jane.sf_user_id or "")
        assert user is not None and not user.is_active
        # nobody answers the rest: kept, and handed to the admins in the summary
        clock.advance(later(8))
        await tick(stage)
        rest = [i for i in await deps.reviews.items(campaign.id) if i.id != janes.id]
        assert rest and all(i.outcome is Outcome.ESCALATED and i.decision is None for i in rest)
        kept = [await deps.repo.get(i.grant_id or "") for i in rest]
        assert all(g is not None and g.state is State.ACTIVE for g in kept)
        (summary,) = [
            m for m in stage.slack.dms(ADA.id) if "Access review closed" in json.dumps(m.blocks)
        ]
        assert "Nobody answered for 2 lines" in json.dumps(summary.blocks)
        # the closed messages keep no buttons
        for reviewer in (OLIVIA.id, JORDAN.id):
            shown = review_message(stage, reviewer)
            assert shown is not None and "review_keep" not in json.dumps(shown.blocks)
    finally:
        await stage.close()

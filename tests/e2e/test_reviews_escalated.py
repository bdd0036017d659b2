"""Lines nobody answered, escalated to the admins: decided in their one message over signed HTTP.

Only the application's admins decide them, never their own line; a decision goes through the
same path as a reviewer's (Revoke deactivates the user in the org), and the export names the
admin who decided.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.review_cli import export_reviews
from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import ADA, JORDAN, MALLORY, OLIVIA, OMAR, DemoPerson, Stage, demo_policy
from handlers.ids import ActionId
from handlers.policy import Policy
from storage.models import State
from storage.review_models import Decision, Outcome, ReviewItem
from tests.e2e.lifecycle_steps import ShiftedClock, start, tick
from tests.e2e.review_steps import grant_many, later, open_review, review_message
from tests.e2e.stages import StageOpener
from tests.e2e.steps import current
from tests.security.actors import roomy_org

STAFF = tuple(
    DemoPerson(f"U0E{n:03d}", f"e{n}", f"Escalated Person{n:03d}", f"escalated{n:03d}@acme.com")
    for n in range(11)
)
ESCALATED = "Escalated lines of the"


def escalated_message(stage: Stage, admin: str) -> PostedMessage:
    """The admin's one message of the escalated lines, as it looks now."""
    found = [m for m in stage.slack.dms(admin) if not m.is_reply and ESCALATED in m.text]
    assert len(found) == 1, f"{admin} got {len(found)} messages of escalated lines"
    return current(stage, found[0])


async def click(stage: Stage, who: str, admin: str, item: ReviewItem, action: str) -> None:
    """``who`` clicks ``action`` on ``item`` in ``admin``'s message of escalated lines."""
    shown = escalated_message(stage, admin)
    assert f'"{item.id}"' in json.dumps(shown.blocks, ensure_ascii=False), (
        f"{item.id} is not on the page shown"
    )
    assert (await stage.workspace.click(who, shown, action, value=item.id)).status == 200
    await stage.settle()


async def turn_page(stage: Stage, admin: str, value: str) -> None:
    """``admin`` clicks Previous or Next page in their message of escalated lines."""
    shown = escalated_message(stage, admin)
    assert (
        await stage.workspace.click(admin, shown, ActionId.REVIEW_PAGE, value=value)
    ).status == 200
    await stage.settle()


async def test_admins_decide_the_lines_nobody_answered(
    tmp_path: Path, open_stage: StageOpener
) -> None:
    clock = ShiftedClock()
    reviews = {
        "reviewers": [OMAR.id, OLIVIA.id],
        "deadline": "P7D",
        "remind_before": "P2D",
        "unanswered": "escalate",
    }
    policy = Policy(
        applications=demo_policy(reviews=reviews, admins=(ADA.id, JORDAN.id)).applications
    )
    stage = await start(open_stage, clock, policy=policy, org=roomy_org())
    for person in STAFF:
        stage.slack.add_user(
            person.id, name=person.name, real_name=person.real_name, email=person.email
        )
    stage.slack.set_rate_limits(enabled=False)  # about escalation, not Slack's limits
    try:
        grants = await grant_many(stage, (*STAFF, JORDAN))
        campaign = await open_review(stage)
        deps = stage.runtime.deps
        # nobody answers by the deadline: every line is kept and handed to the admins
        clock.advance(later(8))
        await tick(stage)
        items = await deps.reviews.items(campaign.id)
        assert len(items) == 12 and all(i.outcome is Outcome.ESCALATED for i in items)
        for admin in (ADA.id, JORDAN.id):
            shown = escalated_message(stage, admin)
            text = json.dumps(shown.blocks, ensure_ascii=False)
            assert "0 of 12 decided* · page 1 of 2" in text and len(shown.blocks) <= 50
            assert text.count('"review_keep"') == 10  # a page at a time
        assert review_message(stage, ADA.id) is None  # not mistaken for a reviewer's message
        by_user = {i.subject_id: i for i in items}
        jordans, first, second = by_user[JORDAN.id], by_user[STAFF[0].id], by_user[STAFF[1].id]

        # neither a stranger nor a reviewer decides an escalated line; nor an admin their own
        # (Jordan's line is on the second page)
        await click(stage, MALLORY.id, ADA.id, first, ActionId.REVIEW_REVOKE)
        await click(stage, OMAR.id, ADA.id, first, ActionId.REVIEW_KEEP)
        for admin in (ADA.id, JORDAN.id):
            await turn_page(stage, admin, f"{campaign.id}|1|admins")
        await click(stage, JORDAN.id, JORDAN.id, jordans, ActionId.REVIEW_KEEP)
        said = {
            who: [r.text for r in stage.slack.responses(who)]
            for who in (MALLORY.id, OMAR.id, JORDAN.id)
        }
        assert all(len(t) == 1 for t in said.values()), said
        assert "only the application's admins" in said[MALLORY.id][0]
        assert "only the application's admins" in said[OMAR.id][0]
        assert "Nobody reviews their own access" in said[JORDAN.id][0]
        for line in (first, jordans):
            untouched = await deps.reviews.item(line.id)
            assert untouched is not None and untouched.outcome is Outcome.ESCALATED

        # Ada revokes Jordan's line (the same path as a reviewer's revocation);
        # Jordan keeps one and revokes another (deactivated in the org)
        await click(stage, ADA.id, ADA.id, jordans, ActionId.REVIEW_REVOKE)
        await turn_page(stage, JORDAN.id, f"{campaign.id}|0|admins")
        await click(stage, JORDAN.id, JORDAN.id, first, ActionId.REVIEW_KEEP)
        await click(stage, JORDAN.id, JORDAN.id, second, ActionId.REVIEW_REVOKE)
        # a second click on a decided line changes nothing
        assert '"review_keep"' in json.dumps(
            escalated_message(stage, ADA.id).blocks, ensure_ascii=False
        )
        await tick(stage)
        await tick(stage)
        revoked = await deps.reviews.item(jordans.id)
        assert revoked is not None and revoked.decided_by == ADA.id
        # Jordan's user existed before the bot adopted it: it is back to how it was
        assert revoked.decision is Decision.REVOKE and revoked.outcome is Outcome.RESTORED
        gone = await deps.reviews.item(second.id)
        assert gone is not None and gone.decided_by == JORDAN.id
        assert gone.outcome is Outcome.DEACTIVATED
        second_grant = next(g for g in grants if g.subject_id == STAFF[1].id)
        user = stage.org.user(second_grant.sf_user_id or "")
        assert user is not None and not user.is_active
        # both admins' messages and the reviewer's show who decided
        ada_text = json.dumps(escalated_message(stage, ADA.id).blocks, ensure_ascii=False)
        assert "3 of 12 decided" in ada_text and "revoked: " in ada_text  # page 2: Jordan's
        jordan_text = json.dumps(escalated_message(stage, JORDAN.id).blocks)
        assert "3 of 12 decided" in jordan_text and "kept by <@U0JORDAN>" in jordan_text
        reviewer_view = review_message(stage, first.reviewer)
        assert reviewer_view is not None
        assert "kept by <@U0JORDAN>" in json.dumps(
            current(stage, reviewer_view).blocks, ensure_ascii=False
        )

        # Ada keeps the rest (from the second page she is on)
        ada_text = json.dumps(escalated_message(stage, ADA.id).blocks, ensure_ascii=False)
        assert "page 2 of 2" in ada_text
        await stage.workspace.click(
            ADA.id,
            escalated_message(stage, ADA.id),
            ActionId.REVIEW_KEEP_REST,
            value=f"{campaign.id}|admins",
        )
        await stage.settle()
        await tick(stage)
        final = await deps.reviews.items(campaign.id)
        assert all(i.decision is not None for i in final)
        assert {i.decided_by for i in final} == {ADA.id, JORDAN.id}
        assert '"review_keep"' not in json.dumps(
            escalated_message(stage, JORDAN.id).blocks, ensure_ascii=False
        )

        # the export names who decided each line (the reviewer stays the one asked)
        out = tmp_path / "review.jsonl"
        database = stage.runtime.settings.database
        assert await export_reviews(database, "jsonl", str(out)) == 12
        rows = {r["item"]: r for r in map(json.loads, out.read_text().splitlines())}
        assert rows[jordans.id]["decided_by"] == ADA.id
        assert rows[jordans.id]["outcome"] == "restored"
        assert rows[first.id]["decided_by"] == JORDAN.id and rows[first.id]["outcome"] == "kept"
        assert rows[second.id]["outcome"] == "deactivated"
        assert all(r["reviewer"] in (OMAR.id, OLIVIA.id) for r in rows.values())
        for row in rows.values():
            grant = await deps.repo.get(row["grant"])
            assert grant is not None
            kept = row["outcome"] == "kept"
            assert (grant.state is State.ACTIVE) == kept, row
        audit = [e async for e in deps.repo.audit.entries() if e.action == "review_decided"]
        assert {e.actor for e in audit} == {ADA.id, JORDAN.id}
        assert all(e.detail.get("escalated") for e in audit)
    finally:
        await stage.close()

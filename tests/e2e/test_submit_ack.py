"""The request form is answered within Slack's 3 s, and its outcome follows in the same modal.

Slack waits 3 s for the answer to a view_submission; the look-ups (Slack's people and groups,
Salesforce's permission-set flags) and the write come after it, so a slow one cannot make Slack
give up on a request that is then stored anyway.
"""

from __future__ import annotations

import asyncio

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.stage import BOB, JANE, OMAR, demo_policy
from handlers.ids import ActionId, BlockId, CallbackId
from tests.e2e.stages import StageOpener
from tests.e2e.steps import (
    SUBMITTING_TEXT,
    approval_message,
    assert_submitting,
    fill_request,
    open_request_form,
    refusal_lines,
    submission_outcome,
)
from tests.e2e.test_eligibility import (
    SALES_TEAM,
    forged_values,
    form_after_license,
    item_policy,
    start,
    submit_forged,
)

SLACK_WAITS = 3.0  # seconds Slack waits for the answer to a view_submission


async def test_a_slow_submission_is_answered_at_once_and_confirmed_when_stored(
    open_stage: StageOpener,
) -> None:
    org = SimulatedOrg()
    org.seed_demo()
    # The tier check reads the requested sets' flags from Salesforce at submission.
    stage = await open_stage(policy=demo_policy(high_if_powerful=True), org=org)
    try:
        view_id = await open_request_form(stage, JANE.id)
        await fill_request(stage, JANE.id, view_id)
        form = stage.slack.view(view_id)
        assert form is not None
        hold = stage.org.hold("/query")  # Salesforce takes as long as the test says
        try:
            reply = await stage.workspace.submit(JANE.id, view_id)
            assert reply.elapsed < SLACK_WAITS, reply.elapsed
            assert_submitting(reply.status, reply.json_or_none())
            assert await asyncio.to_thread(hold.wait_arrived, 5.0), "the tier check never asked"
            # Salesforce has not answered yet: the person sees "Submitting…", nothing is stored.
            shown = stage.slack.view(view_id)
            assert shown is not None and shown["callback_id"] == CallbackId.SUBMITTING
            assert SUBMITTING_TEXT in str(shown["blocks"])
            assert await stage.runtime.deps.repo.find(subject_id=JANE.id) == []
        finally:
            hold.release()
        confirmed = await submission_outcome(stage, view_id)
        assert confirmed["callback_id"] == CallbackId.SUBMITTED, confirmed["blocks"]
        (request,) = await stage.runtime.deps.repo.find(subject_id=JANE.id)
        text = str(confirmed["blocks"])
        assert f"Your request {request.id} was submitted" in text
        assert "waiting for approval" in text
        await approval_message(stage, OMAR.id, request.id)

        # The same submission delivered again (a double click, a retry) stores nothing more.
        again = await submit_forged(stage, JANE.id, form, form["state"]["values"])
        assert_submitting(again.status, again.json_or_none())
        await submission_outcome(stage, view_id, (CallbackId.SUBMITTED,))
        await stage.settle()
        assert [r.id for r in await stage.runtime.deps.repo.find(subject_id=JANE.id)] == [
            request.id
        ]
        asks = [m for m in stage.slack.dms(OMAR.id) if request.id in str(m.blocks)]
        assert len([m for m in asks if not m.is_reply]) == 1
    finally:
        await stage.close()


async def test_a_forged_submission_refused_after_the_look_ups_is_shown_and_stores_nothing(
    open_stage: StageOpener,
) -> None:
    stage = await start(open_stage, item_policy())
    try:
        stage.slack.set_usergroup(SALES_TEAM, [JANE.id])
        view_id = await form_after_license(stage, BOB.id)
        view = stage.slack.view(view_id)
        assert view is not None
        reply = await submit_forged(stage, BOB.id, view, forged_values("Sales User"))
        assert reply.elapsed < SLACK_WAITS
        assert_submitting(reply.status, reply.json_or_none())
        refused = await submission_outcome(stage, view_id)
        assert refusal_lines(refused) == ["*Profile*: You may not request the Sales User profile."]
        await stage.settle()
        assert await stage.runtime.deps.repo.find(subject_id=BOB.id) == []
        assert not [m for m in stage.slack.dms(OMAR.id) if BOB.id in str(m.blocks)]

        # Start again: the same modal becomes a fresh form, with only Bob's items.
        await stage.workspace.press(BOB.id, view_id, ActionId.REQUEST_START_AGAIN)
        form = await stage.slack.wait_for(
            lambda: (
                v
                if (v := stage.slack.view(view_id)) and v.get("callback_id") == CallbackId.REQUEST
                else None
            )
        )
        assert BlockId.LICENSE in [b.get("block_id") for b in form["blocks"]]
    finally:
        await stage.close()

"""Break-glass over signed HTTP: a group member approves their own high-risk request at once,
everyone is told, an unanswered review goes to the admins; others and long grants are refused."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import ADA, BOB, JANE, OLIVIA, OMAR, Stage, demo_policy
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.policy import Policy
from storage.models import State
from tests.e2e.lifecycle_steps import ShiftedClock, actions, in_state, start, tick
from tests.e2e.stages import StageOpener
from tests.e2e.steps import approval_message, current, submit_request
from tests.security.actors import press

ONCALL = "S0ONCALL"
SECURITY_CHANNEL = "C0SECURITY"
REVIEW = BlockId.BREAK_GLASS_REVIEW_ACTIONS
REASON = "INC-4711: quoting is down for every customer and Sales Ops must fix the rules"


def break_glass_policy() -> Policy:
    """Sales_Ops is high risk; on-call members may break glass for up to four hours."""
    return demo_policy(
        permission_sets=({"name": "Sales_Ops", "tier": "high"}, "Reports_Export"),
        durations_days=None,
        durations=["PT4H", "P1D", "P7D"],
        break_glass={
            "group": [ONCALL],
            "max_duration": "PT4H",
            "review_within": "PT24H",
            "security_channel": SECURITY_CHANNEL,
        },
    )


async def begin(open_stage: StageOpener, clock: ShiftedClock) -> Stage:
    stage = await start(open_stage, clock, policy=break_glass_policy())
    stage.slack.set_usergroup(ONCALL, [JANE.id])
    stage.slack.add_channel(SECURITY_CHANNEL, "security")
    return stage


def with_buttons(
    stage: Stage, user_id: str, block_id: str, request_id: str
) -> PostedMessage | None:
    """The newest DM to ``user_id`` about the request that carries the ``block_id`` buttons."""
    for message in reversed(stage.slack.dms(user_id)):
        shown = json.dumps(message.blocks)
        if request_id in shown and block_id in shown:
            return message
    return None


def buttons_gone(stage: Stage, message: PostedMessage) -> bool:
    return not any(b.get("type") == "actions" for b in current(stage, message).blocks)


async def test_a_member_breaks_glass_everyone_is_told_and_an_ignored_review_escalates(
    open_stage: StageOpener,
) -> None:
    clock = ShiftedClock()
    stage = await begin(open_stage, clock)
    try:
        request = await submit_request(stage, JANE.id, duration="PT4H")
        assert (request.tier, request.state) == ("high", State.PENDING_APPROVAL)
        offer = await stage.slack.wait_for(
            lambda: with_buttons(stage, JANE.id, BlockId.BREAK_GLASS_ACTIONS, request.id)
        )
        await stage.workspace.click(JANE.id, offer, ActionId.BREAK_GLASS)
        modal = await stage.slack.wait_for(
            lambda: (
                (v := stage.slack.open_view(JANE.id))
                and v.get("callback_id") == CallbackId.BREAK_GLASS
                and v
            )
        )
        reply = await stage.workspace.submit(
            JANE.id, modal["id"], {ActionId.BREAK_GLASS_REASON: REASON}
        )
        assert reply.status == 200 and not reply.body.strip(), reply.body

        # Approved at once, by herself, and provisioned without any owner.
        active = await in_state(stage, request.id, State.ACTIVE)
        assert (active.decided_by, active.decision_note) == (JANE.id, REASON)
        user = stage.org.user_by_username("jane.doe@acme.com")
        assert user is not None and "Sales_Ops" in stage.org.assignments_of(user.id)

        # The owners review it; the admin and the security channel are told.
        reviews = [
            await stage.slack.wait_for(lambda o=owner: with_buttons(stage, o, REVIEW, request.id))
            for owner in (OMAR.id, OLIVIA.id)
        ]
        assert REASON in json.dumps(reviews[0].blocks)
        fyi = await stage.slack.wait_for(
            lambda: [m for m in stage.slack.dms(ADA.id) if request.id in json.dumps(m.blocks)]
        )
        assert "Break-glass" in fyi[0].text and REVIEW not in json.dumps(fyi[0].blocks)
        security = await stage.slack.wait_for(lambda: stage.slack.messages(SECURITY_CHANNEL))
        assert REASON in json.dumps(security[0].blocks)
        trail = await stage.runtime.deps.repo.audit.for_request(request.id)
        approved = next(e for e in trail if e.action == "break_glass_approved")
        assert (approved.actor, approved.detail["rule"], approved.detail["note"]) == (
            JANE.id,
            "break_glass",
            REASON,
        )

        # Nobody reviews it within a day: the admins are asked, once.
        clock.advance(timedelta(hours=25))
        await tick(stage)
        overdue = await stage.slack.wait_for(
            lambda: with_buttons(stage, ADA.id, REVIEW, request.id)
        )
        assert overdue.text.startswith("Nobody reviewed")
        await tick(stage)
        asked = [m for m in stage.slack.dms(ADA.id) if m.text.startswith("Nobody reviewed")]
        assert len(asked) == 1
        assert (await actions(stage, request.id)).count("break_glass_review_escalated") == 1

        # Ada confirms: every break-glass message shows it, no buttons are left.
        await stage.workspace.click(ADA.id, overdue, ActionId.BREAK_GLASS_CONFIRM)
        await stage.slack.wait_for(lambda: all(buttons_gone(stage, m) for m in (*reviews, overdue)))
        assert "confirmed this break-glass access" in json.dumps(current(stage, reviews[0]).blocks)
        # A late click by an owner changes nothing and says so.
        await stage.workspace.click(OMAR.id, reviews[0], ActionId.BREAK_GLASS_REVOKE)
        told = await stage.slack.wait_for(lambda: stage.slack.responses(OMAR.id))
        assert "already reviewed" in told[-1].text
        assert (await actions(stage, request.id)).count("break_glass_confirmed") == 1
    finally:
        await stage.close()


async def test_an_owner_revokes_break_glass_access_on_review(open_stage: StageOpener) -> None:
    stage = await begin(open_stage, ShiftedClock())
    try:
        request = await submit_request(stage, JANE.id, duration="PT4H")
        offer = await stage.slack.wait_for(
            lambda: with_buttons(stage, JANE.id, BlockId.BREAK_GLASS_ACTIONS, request.id)
        )
        await stage.workspace.click(JANE.id, offer, ActionId.BREAK_GLASS)
        modal = await stage.slack.wait_for(lambda: stage.slack.open_view(JANE.id))
        await stage.workspace.submit(JANE.id, modal["id"], {ActionId.BREAK_GLASS_REASON: REASON})
        await in_state(stage, request.id, State.ACTIVE)
        review = await stage.slack.wait_for(
            lambda: with_buttons(stage, OLIVIA.id, REVIEW, request.id)
        )
        await stage.workspace.click(OLIVIA.id, review, ActionId.BREAK_GLASS_REVOKE)
        await in_state(stage, request.id, State.REVOKED)
        await stage.settle()
        user = stage.org.user_by_username("jane.doe@acme.com")
        assert user is not None and not user.is_active
        assert "break_glass_revoked" in await actions(stage, request.id)
    finally:
        await stage.close()


async def test_break_glass_is_refused_to_a_non_member_and_beyond_its_longest_duration(
    open_stage: StageOpener,
) -> None:
    stage = await begin(open_stage, ShiftedClock())
    try:
        # Bob is not on call: no offer, and a forged click is refused and changes nothing.
        bob = await submit_request(stage, BOB.id, duration="PT4H")
        await stage.settle()
        assert with_buttons(stage, BOB.id, BlockId.BREAK_GLASS_ACTIONS, bob.id) is None
        await press(stage, BOB.id, ActionId.BREAK_GLASS, bob.id)
        told = await stage.slack.wait_for(lambda: stage.slack.responses(BOB.id))
        assert "Only members of the break-glass group may approve their own request" in (
            told[-1].text
        )
        still = await stage.runtime.deps.repo.get(bob.id)
        assert still is not None and still.state is State.PENDING_APPROVAL

        # Jane is, but a day is longer than break-glass allows.
        jane = await submit_request(stage, JANE.id, duration="P1D")
        offer = await stage.slack.wait_for(
            lambda: with_buttons(stage, JANE.id, BlockId.BREAK_GLASS_ACTIONS, jane.id)
        )
        await stage.workspace.click(JANE.id, offer, ActionId.BREAK_GLASS)
        told = await stage.slack.wait_for(lambda: stage.slack.responses(JANE.id))
        assert told[-1].text == (
            "Break-glass access lasts at most 4 hours; this request asks for 1 day. "
            "Ask again for 4 hours or less."
        )
        assert stage.slack.open_view(JANE.id) is None
        waiting = await stage.runtime.deps.repo.get(jane.id)
        assert waiting is not None and waiting.state is State.PENDING_APPROVAL
        assert (await actions(stage, jane.id)).count("break_glass_refused") == 1
        assert stage.org.user_by_username("jane.doe@acme.com") is None

        # An owner approves it the usual way: the offer's button goes.
        ask = await approval_message(stage, OMAR.id, jane.id)
        await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
        await stage.slack.wait_for(lambda: buttons_gone(stage, offer))
        assert "break-glass is no longer offered" in current(stage, offer).text
    finally:
        await stage.close()

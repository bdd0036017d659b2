"""Approval rules per risk tier over signed HTTP: several owners, stages, a tier's longest grant."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.sandbox.salesforce_org import SimulatedOrg
from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import ADA, BOB, JANE, JORDAN, OLIVIA, OMAR, demo_policy
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.policy import Policy
from storage.models import State
from tests.e2e.lifecycle_steps import actions, in_state
from tests.e2e.stages import StageOpener
from tests.e2e.steps import (
    approval_message,
    assert_submitting,
    current,
    dm_texts,
    refusal_lines,
    submission_outcome,
    submit_request,
)
from tests.e2e.test_access_integrity_changes import change_request, escalation_to
from tests.e2e.test_commands import _reply, _text
from tests.e2e.test_eligibility import forged_values, form_after_license, submit_forged
from tests.e2e.test_home import home_where, open_home
from tests.security.actors import press

SECURITY = "S0SECURITY"


def progress(message: PostedMessage) -> str:
    """The approval message's progress line, as it reads now."""
    for block in message.blocks:
        if block.get("block_id") == BlockId.APPROVAL_PROGRESS:
            return str(block["text"]["text"])
    return ""


def two_owners() -> Policy:
    """Every standard request needs two different owners."""
    return demo_policy(tiers={"standard": {"required": 2}})


def owners_then_security(**rule: Any) -> Policy:
    """Sales_Ops is high: one owner, then one member of the security group."""
    stages = [
        {"name": "owners"},
        {"name": "security", "approvers": [SECURITY], "required": 1},
    ]
    return demo_policy(
        permission_sets=({"name": "Sales_Ops", "tier": "high"}, "Reports_Export"),
        tiers={"high": {"stages": stages, **rule}},
    )


async def test_two_of_n_counts_an_owner_clicking_twice_once(open_stage: StageOpener) -> None:
    stage = await open_stage(policy=two_owners())
    try:
        request = await submit_request(stage, JANE.id, duration="P7D")
        omar_ask = await approval_message(stage, OMAR.id, request.id)
        olivia_ask = await approval_message(stage, OLIVIA.id, request.id)
        assert progress(omar_ask) == "0 of 2; waiting for two owners"

        assert (await stage.workspace.click(OMAR.id, omar_ask, ActionId.APPROVE)).status == 200
        waiting = "1 of 2: approved by <@U0OMAR>; waiting for one more owner"
        for ask in (olivia_ask, omar_ask):
            await stage.slack.wait_for(lambda a=ask: progress(current(stage, a)) == waiting)

        # Omar again: told his approval counts once, and nothing moves.
        again = await stage.workspace.click(OMAR.id, current(stage, omar_ask), ActionId.APPROVE)
        assert again.status == 200
        told = await stage.slack.wait_for(lambda: stage.slack.responses(OMAR.id))
        assert "You already approved this request; your approval counts once." in told[-1].text
        still = await stage.runtime.deps.repo.get(request.id)
        assert still is not None and still.state is State.PENDING_APPROVAL
        assert [v.approver for v in await stage.runtime.deps.repo.votes.of(request.id)] == [OMAR.id]
        assert stage.org.user_by_username("jane.doe@acme.com") is None

        # Olivia's is the second: the ordinary decision, then provisioning, once.
        await stage.workspace.click(OLIVIA.id, current(stage, olivia_ask), ActionId.APPROVE)
        active = await in_state(stage, request.id, State.ACTIVE)
        await stage.settle()
        assert active.decided_by == OLIVIA.id
        assert await actions(stage, request.id) == [
            "submitted",
            "approval_recorded",
            "approval_recorded",
            "approved",
            "provisioning_started",
            "provisioned",
        ]
        for ask in (omar_ask, olivia_ask):
            assert not any(b.get("type") == "actions" for b in current(stage, ask).blocks)
    finally:
        await stage.close()


async def test_the_requester_never_counts_towards_two_owners(open_stage: StageOpener) -> None:
    stage = await open_stage(policy=two_owners())
    try:
        request = await submit_request(stage, OMAR.id, duration="P7D")
        await approval_message(stage, OLIVIA.id, request.id)
        await stage.settle()
        assert not [
            m for m in stage.slack.dms(OMAR.id) if BlockId.APPROVAL_ACTIONS in json.dumps(m.blocks)
        ]
        await press(stage, OMAR.id, ActionId.APPROVE, request.id)
        told = await stage.slack.wait_for(lambda: stage.slack.responses(OMAR.id))
        assert "can't decide a request for your own access" in told[-1].text
        assert await stage.runtime.deps.repo.votes.of(request.id) == []
    finally:
        await stage.close()


async def test_two_stages_the_security_group_hears_only_after_the_owner_and_denies(
    open_stage: StageOpener,
) -> None:
    stage = await open_stage(policy=owners_then_security())
    stage.slack.set_usergroup(SECURITY, [BOB.id])
    try:
        home = await open_home(stage, BOB.id)  # Bob's Home tab follows the request's stages
        assert "Waiting for your decision" not in json.dumps(home)
        request = await submit_request(stage, JANE.id, duration="P7D")
        assert request.tier == "high"
        omar_ask = await approval_message(stage, OMAR.id, request.id)
        assert progress(omar_ask).startswith(
            ":hourglass_flowing_sand: Stage 1 of 2 (owners): 0 of 1; waiting for one owner"
        )
        await stage.settle()
        assert not [m for m in stage.slack.dms(BOB.id) if request.id in json.dumps(m.blocks)]
        assert not [c for c in stage.slack.calls() if c.method == "usergroups.users.list"]

        # Bob may not decide the owners' stage, even with a button value naming it.
        await press(stage, BOB.id, ActionId.APPROVE, request.id)
        told = await stage.slack.wait_for(lambda: stage.slack.responses(BOB.id))
        assert "Only the owners of *Sales Cloud*" in told[-1].text

        await stage.workspace.click(OMAR.id, omar_ask, ActionId.APPROVE)
        bob_ask = await approval_message(stage, BOB.id, request.id)
        assert "Stage 1 of 2 (owners): 1 of 1: approved by <@U0OMAR>" in progress(bob_ask)
        assert "Stage 2 of 2 (security): 0 of 1; waiting for one approver from security" in (
            progress(bob_ask)
        )
        moved = await stage.runtime.deps.repo.get(request.id)
        assert moved is not None
        assert (moved.state, moved.approval_stage) == (State.PENDING_APPROVAL, 1)
        await home_where(stage, BOB.id, lambda h: request.id in json.dumps(h))
        # `/salesforce pending`: it waits for Bob now, no longer for the owners.
        bobs, _ = await _reply(stage, BOB.id, "pending")
        assert "Waiting for your decision" in _text(bobs) and request.id in json.dumps(bobs.blocks)
        omars, _ = await _reply(stage, OMAR.id, "pending")
        assert "Nothing waits for you" in _text(omars)

        # Olivia, an owner, is not the security stage.
        olivia_ask = await approval_message(stage, OLIVIA.id, request.id)
        await stage.workspace.click(OLIVIA.id, olivia_ask, ActionId.APPROVE)
        told = await stage.slack.wait_for(lambda: stage.slack.responses(OLIVIA.id))
        assert "waits for another stage's approvers (<@U0BOB>)" in told[-1].text

        await stage.workspace.click(BOB.id, bob_ask, ActionId.DENY)
        modal = await stage.slack.wait_for(lambda: stage.slack.open_view(BOB.id))
        reply = await stage.workspace.submit(
            BOB.id, modal["id"], {ActionId.DENY_REASON: "Not without a ticket."}
        )
        assert reply.status == 200
        denied = await in_state(stage, request.id, State.DENIED)
        assert (denied.decided_by, denied.decision_note) == (BOB.id, "Not without a ticket.")
        await stage.slack.wait_for(
            lambda: [m for m in stage.slack.dms(JANE.id) if "denied" in m.text]
        )
        for ask in (omar_ask, bob_ask):
            await stage.slack.wait_for(
                lambda a=ask: not any(b.get("type") == "actions" for b in current(stage, a).blocks)
            )
        assert stage.org.user_by_username("jane.doe@acme.com") is None
        assert await actions(stage, request.id) == [
            "submitted",
            "decision_refused",  # Bob, before his stage
            "approval_recorded",
            "stage_approved",
            "decision_refused",  # Olivia, at the security stage
            "denied",
        ]
    finally:
        await stage.close()


async def test_a_forged_submission_beyond_the_tier_cap_is_refused(open_stage: StageOpener) -> None:
    stage = await open_stage(policy=owners_then_security(max_duration="P1D"))
    try:
        view_id = await form_after_license(stage, JANE.id)
        view = stage.slack.view(view_id)
        assert view is not None
        # The form says so beside the duration.
        (duration,) = [b for b in view["blocks"] if b.get("block_id") == BlockId.DURATION]
        assert duration["hint"]["text"] == "High-risk access lasts at most 1 day."
        reply = await submit_forged(
            stage, JANE.id, view, forged_values("Sales User", ("Sales_Ops",))
        )
        assert reply.json_or_none() == {
            "response_action": "errors",
            "errors": {
                BlockId.DURATION: "High-risk access lasts at most 1 day: choose a shorter duration."
            },
        }
        assert await stage.runtime.deps.repo.find(subject_id=JANE.id) == []
        # Within the cap, or for a standard item, the same form goes through.
        ok = await submit_forged(
            stage, JANE.id, view, forged_values("Sales User", ("Reports_Export",))
        )
        assert_submitting(ok.status, ok.json_or_none())
        await submission_outcome(stage, view_id, (CallbackId.SUBMITTED,))
        (stored,) = await stage.runtime.deps.repo.find(subject_id=JANE.id)
        assert stored.tier == "standard"
    finally:
        await stage.close()


def low_risk_auto() -> Policy:
    """Standard User with Reports_Export is low risk and approved by the policy."""
    return demo_policy(
        profiles=({"name": "Standard User", "tier": "low"}, "Sales User"),
        permission_sets=({"name": "Reports_Export", "tier": "low"}, "Sales_Ops"),
        tiers={"low": {"auto_approve": True, "max_duration": "P7D"}},
    )


async def test_a_low_risk_request_is_approved_by_the_policy_and_the_owners_hear(
    open_stage: StageOpener,
) -> None:
    stage = await open_stage(policy=low_risk_auto())
    try:
        request = await submit_request(
            stage,
            JANE.id,
            profile="Standard User",
            role=None,
            permission_sets=("Reports_Export",),
            duration="P7D",
        )
        active = await in_state(stage, request.id, State.ACTIVE)
        assert (active.tier, active.decided_by) == ("low", "policy")
        user = stage.org.user_by_username("jane.doe@acme.com")
        assert user is not None and "Reports_Export" in stage.org.assignments_of(user.id)
        for owner in (OMAR.id, OLIVIA.id):
            fyi = await stage.slack.wait_for(
                lambda o=owner: [m for m in stage.slack.dms(o) if m.text.startswith("FYI:")]
            )
            shown = json.dumps(fyi[0].blocks)
            assert "Approved automatically under the policy rule `tiers.low.auto_approve`" in shown
            assert BlockId.APPROVAL_ACTIONS not in shown
        await stage.slack.wait_for(
            lambda: [t for t in dm_texts(stage, JANE.id) if "approved automatically" in t]
        )
        trail = await stage.runtime.deps.repo.audit.for_request(request.id)
        decided = next(e for e in trail if e.action == "auto_approved")
        assert decided.actor == "policy"
        assert decided.detail["rule"] == "tiers.low.auto_approve"
        assert [e.action for e in trail][:2] == ["submitted", "auto_approved"]

        # A standard item in the same request: the owners decide as usual.
        bob = await submit_request(
            stage, BOB.id, profile="Sales User", role=None, permission_sets=("Reports_Export",)
        )
        assert bob.state is State.PENDING_APPROVAL and bob.tier == "standard"
        await approval_message(stage, OMAR.id, bob.id)
    finally:
        await stage.close()


async def test_concurrent_approvals_at_each_stage_lead_to_one_provisioning(
    open_stage: StageOpener,
) -> None:
    stage = await open_stage(policy=owners_then_security())
    stage.slack.set_usergroup(SECURITY, [BOB.id, JORDAN.id])
    try:
        request = await submit_request(stage, JANE.id, duration="P7D")
        owners = [await approval_message(stage, o.id, request.id) for o in (OMAR, OLIVIA)]
        users_before = len(stage.org.users())
        replies = await asyncio.gather(
            stage.workspace.click(OMAR.id, owners[0], ActionId.APPROVE),
            stage.workspace.click(OLIVIA.id, owners[1], ActionId.APPROVE),
        )
        assert [r.status for r in replies] == [200, 200]
        security = [await approval_message(stage, p.id, request.id) for p in (BOB, JORDAN)]
        replies = await asyncio.gather(
            stage.workspace.click(BOB.id, security[0], ActionId.APPROVE),
            stage.workspace.click(JORDAN.id, security[1], ActionId.APPROVE),
        )
        assert [r.status for r in replies] == [200, 200]
        await in_state(stage, request.id, State.ACTIVE)
        await stage.settle()
        assert len(stage.org.users()) == users_before + 1
        trail = await actions(stage, request.id)
        assert trail.count("stage_approved") == 1
        assert trail.count("approved") == 1
        assert trail.count("provisioning_started") == 1
        assert trail.count("provisioned") == 1
        # Each stage asked its people once: the security members got one ask each.
        for person in (BOB, JORDAN):
            asks = [
                m
                for m in stage.slack.dms(person.id)
                if not m.is_reply and request.id in json.dumps(m.blocks)
            ]
            assert len(asks) == 1
            assert not any(b.get("type") == "actions" for b in asks[0].blocks)
    finally:
        await stage.close()


async def test_a_set_the_org_says_is_powerful_is_high_and_capped(open_stage: StageOpener) -> None:
    org = SimulatedOrg()
    org.seed_demo()
    org.add_permission_set(
        "Setup_Tools", "Setup Tools", permissions=("PermissionsCustomizeApplication",)
    )
    policy = demo_policy(
        permission_sets=("Sales_Ops", "Setup_Tools"),
        high_if_powerful=True,
        tiers={"high": {"max_duration": "P1D"}},
    )
    stage = await open_stage(policy=policy, org=org)
    try:
        view_id = await form_after_license(stage, JANE.id)
        view = stage.slack.view(view_id)
        assert view is not None
        refused = await submit_forged(
            stage, JANE.id, view, forged_values("Sales User", ("Setup_Tools",))
        )
        # The org's flags are read after the answer: the refusal replaces "Submitting…".
        assert_submitting(refused.status, refused.json_or_none())
        assert refusal_lines(await submission_outcome(stage, view_id)) == [
            "*Duration*: High-risk access lasts at most 1 day: choose a shorter duration."
        ]
        assert await stage.runtime.deps.repo.find(subject_id=JANE.id) == []
        # The form itself, with a duration within the cap, goes through as high.
        request = await submit_request(
            stage, JANE.id, permission_sets=("Setup_Tools",), duration="P1D"
        )
        assert request.tier == "high"
        trail = await stage.runtime.deps.repo.audit.for_request(request.id)
        assert trail[0].detail["powerful"] == ["Setup_Tools"]
        # Sales_Ops grants nothing org-wide: standard, and seven days are fine.
        bob = await submit_request(stage, BOB.id, permission_sets=("Sales_Ops",), duration="P7D")
        assert bob.tier == "standard"
    finally:
        await stage.close()


async def test_a_request_sent_back_to_the_owners_counts_its_approvals_anew(
    open_stage: StageOpener,
) -> None:
    stage = await open_stage(policy=two_owners())
    try:
        request = await submit_request(
            stage,
            JANE.id,
            license="Salesforce Platform",
            profile="Standard Platform User",
            role=None,
            permission_sets=(),
        )
        platform = stage.org.id_of("Profile", "Standard Platform User")
        for name in ("kim", "lee"):
            stage.org.add_user(f"{name}@acme.com", platform, last_name=name)
        for owner in (OMAR, OLIVIA):
            ask = await approval_message(stage, owner.id, request.id)
            await stage.workspace.click(owner.id, ask, ActionId.APPROVE)
        stuck = await in_state(stage, request.id, State.NEEDS_ADMIN)
        assert stuck.needs_admin_reason == "no_free_seat"
        dm = await stage.slack.wait_for(lambda: escalation_to(stage, ADA.id, request.id))

        # Ada adds a permission set: more than the owners approved, so they decide again.
        await change_request(stage, ADA.id, dm, sets=["Reports_Export"])
        again = await in_state(stage, request.id, State.PENDING_APPROVAL)
        assert again.approval_stage == 0
        assert await stage.runtime.deps.repo.votes.of(request.id) == []
        ask = await approval_message(stage, OMAR.id, request.id)
        assert progress(ask) == "0 of 2; waiting for two owners"
        await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
        waiting = "1 of 2: approved by <@U0OMAR>; waiting for one more owner"
        await stage.slack.wait_for(lambda: progress(current(stage, ask)) == waiting)
        still = await stage.runtime.deps.repo.get(request.id)
        assert still is not None and still.state is State.PENDING_APPROVAL
        assert (await actions(stage, request.id)).count("approval_recorded") == 3
    finally:
        await stage.close()


async def test_a_change_adding_a_powerful_set_is_high_and_needs_the_high_rule(
    open_stage: StageOpener,
) -> None:
    org = SimulatedOrg()
    org.seed_demo()
    org.add_permission_set(
        "Setup_Tools", "Setup Tools", permissions=("PermissionsCustomizeApplication",)
    )
    policy = demo_policy(
        permission_sets=("Reports_Export", "Setup_Tools"),
        high_if_powerful=True,
        tiers={"high": {"required": 2}},
    )
    stage = await open_stage(policy=policy, org=org)
    try:
        request = await submit_request(
            stage,
            JANE.id,
            license="Salesforce Platform",
            profile="Standard Platform User",
            role=None,
            permission_sets=(),
        )
        assert request.tier == "standard"
        platform = stage.org.id_of("Profile", "Standard Platform User")
        for name in ("kim", "lee"):
            stage.org.add_user(f"{name}@acme.com", platform, last_name=name)
        ask = await approval_message(stage, OMAR.id, request.id)
        await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
        stuck = await in_state(stage, request.id, State.NEEDS_ADMIN)
        assert stuck.needs_admin_reason == "no_free_seat"
        dm = await stage.slack.wait_for(lambda: escalation_to(stage, ADA.id, request.id))

        # Ada adds Setup_Tools: the org says it customizes the application, so the request
        # becomes high and the high tier's rule (two owners) decides it.
        await change_request(stage, ADA.id, dm, sets=["Setup_Tools"])
        again = await in_state(stage, request.id, State.PENDING_APPROVAL)
        assert again.tier == "high" and again.permission_sets == ("Setup_Tools",)
        entry = (await stage.runtime.deps.repo.audit.for_request(request.id))[-1]
        assert entry.action == "changed_after_approval"
        assert entry.detail["tier"] == "high" and entry.detail["powerful"] == ["Setup_Tools"]
        fresh = await stage.slack.wait_for(
            lambda: next(
                (
                    m
                    for m in stage.slack.dms(OMAR.id)
                    if not m.is_reply
                    and request.id in json.dumps(m.blocks)
                    and progress(m) == "0 of 2; waiting for two owners"
                ),
                None,
            )
        )
        await stage.workspace.click(OMAR.id, fresh, ActionId.APPROVE)
        waiting = "1 of 2: approved by <@U0OMAR>; waiting for one more owner"
        await stage.slack.wait_for(lambda: progress(current(stage, fresh)) == waiting)
        still = await stage.runtime.deps.repo.get(request.id)
        assert still is not None and still.state is State.PENDING_APPROVAL
        assert stage.org.user_by_username("jane.doe@acme.com") is None
    finally:
        await stage.close()

"""Who may ask for what: ``requesters`` on an application or an item, people and user groups."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlencode

from bot.sandbox import slack_payloads as payloads
from bot.sandbox.stage import ADA, BOB, JANE, OMAR, Stage, demo_policy
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.policy import Policy
from storage.models import State
from tests.e2e.stages import StageOpener
from tests.e2e.steps import (
    assert_submitting,
    open_request_form,
    refusal_lines,
    submission_outcome,
    submit_request,
)
from tests.e2e.test_access_integrity import open_modal
from tests.e2e.test_access_integrity_changes import stuck_without_a_seat

SALES_TEAM = "S0SALES"
FORM = "application/x-www-form-urlencoded"


def item_policy() -> Policy:
    """Standard User, Reports_Export for everyone; Sales User, SalesRep, Sales_Ops for a group."""
    return demo_policy(
        licenses=("Salesforce",),
        profiles=("Standard User", {"name": "Sales User", "requesters": [SALES_TEAM]}),
        roles=({"name": "SalesRep", "requesters": [SALES_TEAM, OMAR.id]}, "SupportAgent"),
        permission_sets=("Reports_Export", {"name": "Sales_Ops", "requesters": [SALES_TEAM]}),
        permission_set_groups=(),
    )


async def start(open_stage: StageOpener, policy: Policy) -> Stage:
    stage = await open_stage(policy=policy)
    stage.slack.set_usergroup(SALES_TEAM, [JANE.id])
    return stage


def offered(stage: Stage, view_id: str, block_id: str) -> list[str]:
    """The option values one select of the form offers now."""
    view = stage.slack.view(view_id)
    assert view is not None
    for block in view["blocks"]:
        if block.get("block_id") == block_id:
            return [o["value"] for o in block["element"].get("options", [])]
    return []


async def form_after_license(stage: Stage, user_id: str) -> str:
    """The request form with the Salesforce license picked (the profiles then show)."""
    view_id = await open_request_form(stage, user_id)
    before = stage.slack.view(view_id)
    assert before is not None
    await stage.workspace.pick(user_id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")
    await stage.slack.wait_for(
        lambda: (stage.slack.view(view_id) or {}).get("hash") != before["hash"]
    )
    return view_id


def _select(action_id: str, value: str) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": value}, "value": value}
    return {action_id: {"type": "static_select", "selected_option": option}}


def forged_values(profile: str, permission_sets: tuple[str, ...] = ()) -> dict[str, Any]:
    """A filled-in request form's state, with whatever values the sender likes."""
    sets = [{"text": {"type": "plain_text", "text": p}, "value": p} for p in permission_sets]
    return {
        BlockId.LICENSE: _select(ActionId.REQUEST_LICENSE, "Salesforce"),
        BlockId.PROFILE: _select(ActionId.REQUEST_PROFILE, profile),
        BlockId.PERMISSION_SETS: {
            ActionId.REQUEST_PERMISSION_SETS: {
                "type": "multi_static_select",
                "selected_options": sets,
            }
        },
        BlockId.DURATION: _select(ActionId.REQUEST_DURATION, "P7D"),
        BlockId.REASON: {
            ActionId.REQUEST_REASON: {"type": "plain_text_input", "value": "let me in"}
        },
    }


async def submit_forged(
    stage: Stage, user_id: str, view: dict[str, Any], values: dict[str, Any]
) -> Any:
    """POST a view_submission of ``view`` by ``user_id`` holding ``values``, signed."""
    view = copy.deepcopy(view) | {"state": {"values": values}}
    slack = stage.slack
    team = payloads.Team(slack.team_id, slack.team_domain, slack.app_id, slack.bot_user_id)
    user = slack.user(user_id)
    assert user is not None
    payload = payloads.view_submission(team, user, view, trigger_id=slack.issue_trigger(user_id))
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return await stage.workspace.post_raw(body, content_type=FORM)


async def test_a_group_member_sees_exactly_their_items(open_stage: StageOpener) -> None:
    stage = await start(open_stage, item_policy())
    try:
        jane = await form_after_license(stage, JANE.id)
        assert offered(stage, jane, BlockId.PROFILE) == ["Standard User", "Sales User"]
        assert offered(stage, jane, BlockId.ROLE) == ["SalesRep", "SupportAgent"]
        assert offered(stage, jane, BlockId.PERMISSION_SETS) == ["Reports_Export", "Sales_Ops"]
        await stage.workspace.close(JANE.id, jane)

        bob = await form_after_license(stage, BOB.id)
        assert offered(stage, bob, BlockId.PROFILE) == ["Standard User"]
        assert offered(stage, bob, BlockId.ROLE) == ["SupportAgent"]
        assert offered(stage, bob, BlockId.PERMISSION_SETS) == ["Reports_Export"]
        await stage.workspace.close(BOB.id, bob)

        # Jane, in the group, asks for the group's items and gets her request through.
        request = await submit_request(
            stage, JANE.id, profile="Sales User", permission_sets=("Sales_Ops",)
        )
        assert (request.profile, request.permission_sets) == ("Sales User", ("Sales_Ops",))
        calls = [c for c in stage.slack.calls() if c.method == "usergroups.users.list"]
        # One read of the group served both forms and the submission: it is kept a minute.
        assert [c.args.get("usergroup") for c in calls] == [SALES_TEAM]
    finally:
        await stage.close()


async def test_a_forged_submission_of_an_item_not_theirs_is_refused_and_named(
    open_stage: StageOpener,
) -> None:
    stage = await start(open_stage, item_policy())
    try:
        view_id = await form_after_license(stage, BOB.id)
        view = stage.slack.view(view_id)
        assert view is not None
        values = forged_values("Sales User", ("Sales_Ops",))
        reply = await submit_forged(stage, BOB.id, view, values)
        assert_submitting(reply.status, reply.json_or_none())
        # Eligibility needs Slack's groups: it is checked after the answer, in the same modal.
        refused = await submission_outcome(stage, view_id)
        assert refusal_lines(refused) == [
            "*Profile*: You may not request the Sales User profile.",
            "*Permission Sets*: You may not request: Sales Operations.",
        ]
        assert await stage.runtime.deps.repo.find(subject_id=BOB.id) == []
    finally:
        await stage.close()


async def test_someone_not_listed_for_the_application_sees_nothing_to_request(
    open_stage: StageOpener,
) -> None:
    stage = await start(open_stage, demo_policy(requesters=[SALES_TEAM]))
    try:
        jane = await form_after_license(stage, JANE.id)  # in the group: the usual form
        await stage.workspace.close(JANE.id, jane)

        # Owners and admins are not listed implicitly: Omar owns the application.
        for person in (BOB, OMAR):
            await stage.workspace.slash(person.id)
            refusal = await stage.slack.wait_for(
                lambda p=person: (
                    v
                    if (v := stage.slack.open_view(p.id))
                    and v.get("callback_id") == CallbackId.UNAVAILABLE
                    else None
                )
            )
            text = json.dumps(refusal["blocks"])
            assert "nothing in Sales Cloud that you may request" in text
            assert "Ask its admins" in text

        # A submission crafted from someone else's form is refused too.
        forged_from = await form_after_license(stage, JANE.id)
        form = stage.slack.view(forged_from)
        assert form is not None
        reply = await submit_forged(stage, BOB.id, form, forged_values("Standard User"))
        assert_submitting(reply.status, reply.json_or_none())
        refused = await submission_outcome(stage, forged_from)
        assert refusal_lines(refused) == [
            "*Profile*: You may not request Sales Cloud access. Ask its admins to add you."
        ]
        # From a form that shows no Profile yet, the refusal is the same.
        fresh_id = await open_request_form(stage, JANE.id)
        fresh = stage.slack.view(fresh_id)
        assert fresh is not None
        assert BlockId.PROFILE not in [b.get("block_id") for b in fresh["blocks"]]
        reply = await submit_forged(stage, BOB.id, fresh, forged_values("Standard User"))
        assert_submitting(reply.status, reply.json_or_none())
        refused = await submission_outcome(stage, fresh_id)
        assert refusal_lines(refused) == [
            "*Profile*: You may not request Sales Cloud access. Ask its admins to add you."
        ]
        assert await stage.runtime.deps.repo.find(subject_id=BOB.id) == []
    finally:
        await stage.close()


async def test_a_group_slack_does_not_have_lets_nobody_in(open_stage: StageOpener) -> None:
    policy = demo_policy(
        profiles=("Standard User", {"name": "Sales User", "requesters": ["S0GONE"]}),
    )
    stage = await start(open_stage, policy)
    try:
        view_id = await form_after_license(stage, JANE.id)
        assert offered(stage, view_id, BlockId.PROFILE) == ["Standard User"]
        (call,) = [c for c in stage.slack.calls() if c.method == "usergroups.users.list"]
        assert (call.args.get("usergroup"), call.ok, call.error) == (
            "S0GONE",
            False,
            "no_such_subteam",
        )
    finally:
        await stage.close()


async def test_an_admin_changing_a_request_gives_only_what_its_people_may_ask_for(
    open_stage: StageOpener,
) -> None:
    policy = demo_policy(
        profiles=(
            "Standard User",
            {"name": "Sales User", "requesters": [SALES_TEAM]},
            "Standard Platform User",
        ),
    )
    stage = await start(open_stage, policy)
    try:
        stuck, dm = await stuck_without_a_seat(stage, BOB.id)
        await stage.workspace.click(ADA.id, dm, ActionId.COMPLETE_REQUEST)
        modal = await stage.slack.wait_for(
            lambda: open_modal(stage, ADA.id, CallbackId.COMPLETE_REQUEST)
        )
        view_id = str(modal["id"])
        before = stage.slack.view(view_id)
        assert before is not None
        await stage.workspace.pick(ADA.id, view_id, ActionId.REQUEST_LICENSE, "Salesforce")
        await stage.slack.wait_for(
            lambda: (stage.slack.view(view_id) or {}).get("hash") != before["hash"]
        )
        assert offered(stage, view_id, BlockId.PROFILE) == ["Standard User"]  # Bob's, not Ada's

        view = stage.slack.view(view_id)
        assert view is not None
        reply = await submit_forged(stage, ADA.id, view, forged_values("Sales User"))
        assert reply.json_or_none()["errors"] == {
            BlockId.PROFILE: "The people of this request may not request the Sales User profile."
        }
        after = await stage.runtime.deps.repo.get(stuck.id)
        assert after is not None
        assert (after.state, after.profile) == (State.NEEDS_ADMIN, "Standard Platform User")
    finally:
        await stage.close()

"""Every `/salesforce` subcommand over signed HTTP: help, status, pending, request on behalf."""

from __future__ import annotations

import json
import time

from bot.sandbox.render import render_blocks, render_view
from bot.sandbox.slack_records import ResponsePost
from bot.sandbox.stage import ADA, BOB, JANE, OLIVIA, OMAR, Stage
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.stages import StageOpener
from tests.e2e.steps import (
    approval_message,
    assert_submitting,
    confirmed,
    dm_texts,
    fill_request,
    open_request_form,
    submit_request,
)

SUBCOMMAND_WORDS = ("request", "status", "revoke", "pending", "help")


async def _reply(stage: Stage, user_id: str, text: str) -> tuple[ResponsePost, float]:
    """Run the command; the last thing shown to ``user_id`` and how long the answer took."""
    before = len(stage.slack.responses(user_id))
    started = time.monotonic()
    reply = await stage.workspace.slash(user_id, text)
    assert reply.status == 200, reply.body
    shown = await stage.slack.wait_for(lambda: stage.slack.responses(user_id)[before:])
    return shown[-1], time.monotonic() - started


def _text(post: ResponsePost) -> str:
    return render_blocks(post.blocks, post.text)


async def test_help_lists_every_subcommand_only_to_the_typist(stage: Stage) -> None:
    post, took = await _reply(stage, JANE.id, "help")
    assert took < 1.0
    assert post.response_type in (None, "ephemeral")
    shown = _text(post)
    for word in SUBCOMMAND_WORDS:
        assert f"/salesforce {word}" in shown
    # ephemeral: nothing landed in a channel or DM
    assert stage.slack.dms(JANE.id) == []


async def test_unknown_input_gets_the_help_and_names_the_word(stage: Stage) -> None:
    post, took = await _reply(stage, JANE.id, "gimme <!channel> access")
    assert took < 1.0
    shown = _text(post)
    assert "I don't know" in shown and "gimme" in shown
    assert "/salesforce status" in shown
    assert "<!channel>" not in json.dumps(post.blocks)
    assert await stage.runtime.deps.repo.find() == []


async def test_status_lists_my_requests_then_my_live_access(stage: Stage) -> None:
    post, took = await _reply(stage, JANE.id, "status")
    assert took < 1.0
    assert post.response_type == "ephemeral"
    assert "no Salesforce access or requests yet" in _text(post)

    view_id = await open_request_form(stage, JANE.id)
    await fill_request(stage, JANE.id, view_id, duration="P7D")
    await stage.workspace.submit(JANE.id, view_id)
    await confirmed(stage, view_id)
    (request,) = await stage.runtime.deps.repo.find(subject_id=JANE.id)
    post, took = await _reply(stage, JANE.id, "status")
    assert took < 1.0
    shown = _text(post)
    assert "Waiting for approval" in shown and "Sales User" in shown
    assert not _buttons(post)

    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    post, _ = await _reply(stage, JANE.id, "status")
    shown = _text(post)
    assert "Your Salesforce access" in shown and "Active" in shown and "ends on" in shown
    buttons = _buttons(post)
    assert [b["action_id"] for b in buttons] == [ActionId.EXTEND, ActionId.REVOKE_NOW]
    revoke = buttons[1]
    assert revoke["value"] == request.id and revoke["confirm"]["confirm"]["text"] == "Revoke now"


def _buttons(post: ResponsePost) -> list[dict[str, object]]:
    return [
        element
        for block in post.blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("type") == "button"
    ]


async def test_pending_shows_owners_what_waits_for_them(stage: Stage) -> None:
    view_id = await open_request_form(stage, JANE.id)
    await fill_request(stage, JANE.id, view_id)
    await stage.workspace.submit(JANE.id, view_id)
    await confirmed(stage, view_id)
    (request,) = await stage.runtime.deps.repo.find(subject_id=JANE.id)

    post, took = await _reply(stage, OMAR.id, "pending")
    assert took < 1.0
    shown = _text(post)
    assert "Waiting for your decision" in shown and "Sales User" in shown
    assert "I close the quarter" in shown
    approve, deny = _buttons(post)
    assert (approve["action_id"], approve["value"]) == (ActionId.APPROVE, request.id)
    assert (deny["action_id"], deny["value"]) == (ActionId.DENY, request.id)
    assert isinstance(deny["confirm"], dict) and deny["confirm"]["style"] == "danger"

    # an employee has nothing to decide; the requester never decides their own request
    nothing, _ = await _reply(stage, BOB.id, "pending")
    assert "Nothing waits for you" in _text(nothing)
    nothing, _ = await _reply(stage, JANE.id, "pending")
    assert "Nothing waits for you" in _text(nothing)

    # the answer's Approve button works like the approval message's
    answer = stage.slack.ephemerals(OMAR.id)[-1]
    await stage.workspace.click(OMAR.id, answer, ActionId.APPROVE, value=request.id)
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.decided_by == OMAR.id
    after, _ = await _reply(stage, OLIVIA.id, "pending")
    assert "Nothing waits for you" in _text(after)


async def test_pending_shows_admins_what_needs_them(stage: Stage) -> None:
    stage.org.take_username_elsewhere("jane.doe@acme.com")
    view_id = await open_request_form(stage, JANE.id)
    await fill_request(stage, JANE.id, view_id)
    await stage.workspace.submit(JANE.id, view_id)
    await confirmed(stage, view_id)
    (request,) = await stage.runtime.deps.repo.find(subject_id=JANE.id)
    message = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    await stage.settle()
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.NEEDS_ADMIN

    post, took = await _reply(stage, ADA.id, "pending")
    assert took < 1.0
    shown = _text(post)
    assert "Needs an admin" in shown and request.id in shown


async def test_request_on_behalf_of_a_new_hire(stage: Stage) -> None:
    view_id = await open_request_form(stage, JANE.id, f"request <@{BOB.id}|bob>")
    form = stage.slack.view(view_id)
    assert form is not None
    assert "on behalf of" in render_view(form, names=stage.slack.name_of)
    await fill_request(stage, JANE.id, view_id, reason="Bob starts on Monday in sales")
    reply = await stage.workspace.submit(JANE.id, view_id)
    assert_submitting(reply.status, reply.json_or_none())
    await confirmed(stage, view_id)
    (request,) = await stage.runtime.deps.repo.find(subject_id=BOB.id)
    assert (request.requester_id, request.subject_email) == (JANE.id, BOB.email)
    trail = await stage.runtime.deps.repo.audit.for_request(request.id)
    assert trail[0].actor == JANE.id and trail[0].detail["on_behalf_of"] == BOB.id

    message = await approval_message(stage, OMAR.id, request.id)
    asked = render_blocks(message.blocks, names=stage.slack.name_of)
    assert "on behalf of" in asked and "Bob" in asked and "Jane" in asked
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    # the new hire is the one provisioned and told; the requester hears it too
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, BOB.id)))
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, JANE.id)))
    await stage.settle()
    user = stage.org.user_by_username(BOB.email)
    assert user is not None and user.is_active
    assert stage.org.user_by_username(JANE.email) is None
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.ACTIVE and stored.sf_user_id == user.id
    # both see it in their status
    for person in (JANE.id, BOB.id):
        post, _ = await _reply(stage, person, "status")
        assert "Active" in _text(post)


async def test_an_owner_cannot_approve_a_request_they_made_for_someone(stage: Stage) -> None:
    view_id = await open_request_form(stage, OMAR.id, f"request <@{BOB.id}>")
    await fill_request(stage, OMAR.id, view_id)
    await stage.workspace.submit(OMAR.id, view_id)
    await confirmed(stage, view_id)
    (request,) = await stage.runtime.deps.repo.find(subject_id=BOB.id)
    # only the other owner is asked, and the requester's click is refused
    message = await approval_message(stage, OLIVIA.id, request.id)
    assert not [m for m in stage.slack.dms(OMAR.id) if "Approve" in json.dumps(m.blocks)]
    await stage.workspace.click(OMAR.id, message, ActionId.APPROVE)
    said = await stage.slack.wait_for(lambda: stage.slack.responses(OMAR.id))
    assert "your own access" in json.dumps(said[-1].model_dump())
    post, _ = await _reply(stage, OMAR.id, "pending")
    assert "Nothing waits for you" in _text(post)
    stored = await stage.runtime.deps.repo.get(request.id)
    assert stored is not None and stored.state is State.PENDING_APPROVAL


async def test_no_request_on_behalf_of_a_deactivated_member(stage: Stage) -> None:
    stage.slack.set_deleted(BOB.id, True)
    reply = await stage.workspace.slash(JANE.id, f"request <@{BOB.id}|bob>")
    assert reply.status == 200
    shown = await stage.slack.wait_for(
        lambda: (
            (v := stage.slack.open_view(JANE.id)) and v.get("callback_id") == "unavailable" and v
        )
    )
    assert "can't get Salesforce access" in render_view(shown)
    assert await stage.runtime.deps.repo.find() == []


async def test_a_renamed_command_is_the_one_people_are_told_about(open_stage: StageOpener) -> None:
    stage = await open_stage(settings={"ACCESSBOT_COMMAND": "/access"})
    try:
        request = await submit_request(stage, JANE.id)
        message = await approval_message(stage, OMAR.id, request.id)
        await stage.workspace.click(OMAR.id, message, ActionId.DENY)
        modal = await stage.slack.wait_for(lambda: stage.slack.open_view(OMAR.id))
        await stage.workspace.submit(OMAR.id, modal["id"], {ActionId.DENY_REASON: "Not now."})
        denied = await stage.slack.wait_for(
            lambda: [m for m in stage.slack.dms(JANE.id) if "denied" in m.text]
        )
        shown = json.dumps(denied[-1].blocks)
        assert "/access request" in shown and "/salesforce" not in shown
    finally:
        await stage.close()

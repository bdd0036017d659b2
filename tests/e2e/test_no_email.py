"""A member whose email Slack does not share is refused when asking, not after approval.

Salesforce requires an Email on every user; Slack leaves ``profile.email`` out for some guests
and for everyone when the app may not read emails. Such a request could only fail in Salesforce
("Required fields are missing: [Email]") after the owners had approved it.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.stage import ADA, JANE, OMAR, Stage
from handlers.ids import CallbackId
from tests.e2e.steps import assert_submitting, fill_request, open_request_form

GUEST = "U0GUEST"


def _refusal(stage: Stage, user_id: str) -> dict[str, Any] | None:
    view = stage.slack.open_view(user_id)
    return view if view and view.get("callback_id") == CallbackId.UNAVAILABLE else None


def _text(view: dict[str, Any]) -> str:
    return " ".join(str(b.get("text", {}).get("text", "")) for b in view["blocks"])


async def test_a_member_without_an_email_is_told_why_and_whom_to_ask(stage: Stage) -> None:
    stage.slack.add_user(GUEST, name="gus", real_name="Gus Guest", email=None)
    reply = await stage.workspace.slash(GUEST, "")
    assert reply.status == 200
    refusal = await stage.slack.wait_for(lambda: _refusal(stage, GUEST))
    text = _text(refusal)
    assert "email address" in text and "Salesforce needs one" in text
    assert f"<@{ADA.id}>" in text  # the application's admins
    assert not refusal.get("submit")  # no form to send
    await stage.settle()
    assert await stage.runtime.deps.repo.find(subject_id=GUEST) == []
    assert not stage.slack.dms(OMAR.id)


async def test_an_email_no_longer_shared_at_submission_is_refused(stage: Stage) -> None:
    view_id = await open_request_form(stage, JANE.id)
    await fill_request(stage, JANE.id, view_id)
    stage.slack.set_email(JANE.id, None)  # e.g. the app lost users:read.email meanwhile
    reply = await stage.workspace.submit(JANE.id, view_id)
    assert reply.status == 200
    assert_submitting(reply.status, reply.json_or_none())
    refusal = await stage.slack.wait_for(lambda: _refusal(stage, JANE.id))
    assert refusal is not None and refusal["id"] == view_id
    text = _text(refusal)
    assert "You can't get Salesforce access" in text and f"<@{ADA.id}>" in text
    await stage.settle()
    assert await stage.runtime.deps.repo.find(subject_id=JANE.id) == []
    assert not stage.slack.dms(OMAR.id)
    assert stage.org.user_by_username("jane.doe@acme.com") is None


async def test_asking_for_someone_without_an_email_names_them_and_the_admins(stage: Stage) -> None:
    stage.slack.add_user(GUEST, name="gus", real_name="Gus Guest", email=None)
    reply = await stage.workspace.slash(JANE.id, f"<@{GUEST}|gus>")
    assert reply.status == 200
    refusal = await stage.slack.wait_for(lambda: _refusal(stage, JANE.id))
    text = _text(refusal)
    assert f"<@{GUEST}> can't get Salesforce access" in text
    assert f"<@{GUEST}>'s account" in text and f"<@{ADA.id}>" in text

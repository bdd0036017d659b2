"""The approval message to owners, its outcome, refused clicks and the deny modal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.flows.outcomes import RefusalReason
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.policy import Application
from handlers.views.approval import (
    build_approval_outcome,
    build_approval_request,
    build_cannot_decide,
)
from handlers.views.deny_modal import (
    DENY_REASON_MAX,
    build_deny_modal,
    deny_reason_errors,
    parse_deny_reason,
)
from handlers.views.facts import Outcome
from handlers.views.metadata import ModalRef
from storage.models import AccessRequest, Kind, State

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def make_app(**overrides: Any) -> Application:
    fields: dict[str, Any] = {
        "name": "crm",
        "display_name": "CRM",
        "owners": ("U0OWNER1", "U0OWNER2"),
        "admins": ("U0ADMIN1",),
        "licenses": ("Salesforce",),
        "profiles": ("Standard User",),
    }
    fields.update(overrides)
    return Application(**fields)


def make_request(**overrides: Any) -> AccessRequest:
    fields: dict[str, Any] = {
        "id": "req-1",
        "kind": Kind.GRANT,
        "application": "crm",
        "state": State.PENDING_APPROVAL,
        "requester_id": "U0ASKER",
        "subject_id": "U0ASKER",
        "license": "Salesforce",
        "profile": "Standard User",
        "role": "Sales_EMEA",
        "permission_sets": ("Reports", "group:Support"),
        "duration": timedelta(days=30),
        "reason": "Quarter close",
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return AccessRequest(**fields)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_approval_request_shows_the_facts_and_two_buttons() -> None:
    msg = build_approval_request(make_request(), make_app(), requester_name="Ann Asker")
    assert msg.text.startswith("Ann Asker asks for CRM access")
    assert msg.blocks[0]["type"] == "header"
    dumped = json.dumps(msg.blocks)
    for fact in (
        "Standard User",
        "Sales\\u200b_\\u200bEMEA",
        "30 days",
        "Reports",
        "Quarter close",
    ):
        assert fact in dumped
    approve, deny = buttons(msg.blocks)
    assert (approve["action_id"], approve["value"], approve["style"]) == (
        ActionId.APPROVE,
        "req-1",
        "primary",
    )
    assert (deny["action_id"], deny["value"], deny["style"]) == (ActionId.DENY, "req-1", "danger")
    assert deny["confirm"]["style"] == "danger"
    assert "req-1" in msg.blocks[-1]["elements"][0]["text"]


def test_approval_request_on_behalf_names_both_people() -> None:
    req = make_request(subject_id="U0SUBJECT")
    msg = build_approval_request(req, make_app())
    assert "<@U0ASKER> asks for *CRM* access on behalf of <@U0SUBJECT>" in json.dumps(msg.blocks)
    assert "(for <@U0SUBJECT>)" in msg.text


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (State.APPROVED, ":white_check_mark: *Approved* by <@U0OWNER1>"),
        (State.DENIED, ":no_entry: *Denied* by <@U0OWNER1>"),
        (State.EXPIRED, ":hourglass: *Expired*"),
        (State.CANCELLED, ":heavy_multiplication_x: *Cancelled*"),
    ],
)
def test_outcome_replaces_the_buttons(state: State, expected: str) -> None:
    req = make_request(
        state=state, decided_by="U0OWNER1", decided_at=NOW, decision_note="Use the sandbox"
    )
    msg = build_approval_outcome(req, make_app())
    assert buttons(msg.blocks) == []
    outcome = next(b for b in msg.blocks if b.get("block_id") == BlockId.OUTCOME)
    assert outcome["text"]["text"].startswith(expected)
    assert ("Use the sandbox" in outcome["text"]["text"]) is (state is not State.EXPIRED)
    assert state.value in msg.text


def test_outcome_can_be_forced_and_waits_otherwise() -> None:
    pending = make_request()
    assert "Waiting for a decision" in json.dumps(
        build_approval_outcome(pending, make_app()).blocks
    )
    forced = build_approval_outcome(pending, make_app(), outcome=Outcome.CANCELLED)
    assert "cancelled" in forced.text


@pytest.mark.parametrize(
    ("reason", "needle"),
    [
        (RefusalReason.NOT_OWNER, "Only the owners of *CRM* (<@U0OWNER1> or <@U0OWNER2>)"),
        (RefusalReason.OWN_REQUEST, "your own access"),
        (RefusalReason.ALREADY_DECIDED, "already denied by <@U0OWNER2>"),
        (RefusalReason.NOT_ADMIN, "Only the admins of *CRM* (<@U0ADMIN1>)"),
        (RefusalReason.NOT_FOUND, "can't find"),
        (RefusalReason.NOTHING_TO_DO, "Nothing to do"),
        (RefusalReason.NOT_ALLOWED, "not allowed"),
    ],
)
def test_cannot_decide_says_why(reason: RefusalReason, needle: str) -> None:
    req = make_request(state=State.DENIED, decided_by="U0OWNER2", decided_at=NOW)
    msg = build_cannot_decide(reason, request=req, app=make_app())
    assert needle in msg.text
    assert msg.blocks[0]["text"]["text"] == msg.text


def test_deny_modal_round_trip_and_errors() -> None:
    view = build_deny_modal(make_request(), make_app()).to_dict()
    assert view["callback_id"] == CallbackId.DENY_REASON
    assert ModalRef.load(view["private_metadata"]).request_id == "req-1"
    element = view["blocks"][1]["element"]
    assert element["max_length"] == DENY_REASON_MAX and element["multiline"] is True
    state = {BlockId.DENY_REASON: {ActionId.DENY_REASON: {"type": "x", "value": "  No budget  "}}}
    assert parse_deny_reason(state) == "No budget"
    huge = {BlockId.DENY_REASON: {ActionId.DENY_REASON: {"value": "x" * 9000}}}
    assert len(parse_deny_reason(huge)) == DENY_REASON_MAX
    unset = {BlockId.DENY_REASON: {ActionId.DENY_REASON: {"value": None}}}
    assert parse_deny_reason(unset) == "" and parse_deny_reason(["junk"]) == ""
    assert deny_reason_errors("   ") == {BlockId.DENY_REASON: "Say why the request is denied."}
    assert deny_reason_errors("No budget") == {}


def test_an_admin_on_their_own_request_is_pointed_to_who_can_help() -> None:
    app = make_app(admins=("U0ADMIN1", "U0ADMIN2"))
    request = make_request(requester_id="U0ADMIN1", subject_id="U0ADMIN1")
    same_app = build_cannot_decide(
        RefusalReason.OWN_ESCALATION, request=request, app=app, helpers=("U0ADMIN2",)
    ).text
    assert "your own access" in same_app and "Ask <@U0ADMIN2> (admin of *CRM*)" in same_app
    elsewhere = build_cannot_decide(
        RefusalReason.OWN_ESCALATION, request=request, app=make_app(), helpers=("U0OTHER",)
    ).text
    assert "*CRM* has no other admin" in elsewhere and "<@U0OTHER>" in elsewhere
    nobody = build_cannot_decide(RefusalReason.OWN_ESCALATION, request=request, app=make_app())
    assert "add a second one in the access policy" in nobody.text


def test_an_extension_of_ended_access_says_so_and_who_is_told() -> None:
    extension = make_request(grant_id="req-0", state=State.CANCELLED)
    text = build_cannot_decide(RefusalReason.GRANT_ENDED, request=extension, app=make_app()).text
    assert "can't be approved" in text and "<@U0ASKER> is told" in text
    note = "The access it would extend was revoked by an owner: moved teams"
    cancelled = extension.model_copy(update={"decision_note": note})
    again = build_cannot_decide(RefusalReason.ALREADY_DECIDED, request=cancelled, app=make_app())
    assert "already cancelled" in again.text and "moved teams" in again.text

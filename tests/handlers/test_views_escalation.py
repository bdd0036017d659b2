"""The admins' escalation DM, its closed state, and the modals it opens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.flows.choices import LicenseChoice, ProfileChoice, RequestChoices
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.policy import Application
from handlers.views.escalation import build_escalation, setup_user_url
from handlers.views.escalation_modals import (
    build_alternative_username_modal,
    build_complete_request_modal,
    draft_from_request,
    parse_alternative_username,
    username_errors,
)
from handlers.views.metadata import ModalRef
from handlers.views.problems import Escalation, EscalationKind, Resolution
from salesforce.errors import (
    DuplicateUsername,
    InsufficientAccess,
    LicenseLimitExceeded,
    ProfileLicenseMismatch,
    SalesforceError,
    SessionExpired,
    Transient,
    ValidationRule,
)
from salesforce.models import Blocker, DeactivationBlocked
from storage.models import AccessRequest, Kind, State

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
APP = Application(
    name="crm",
    display_name="CRM",
    owners=("U0OWNER1",),
    admins=("U0ADMIN1",),
    licenses=("Salesforce",),
    profiles=("Standard User",),
)
USER_ID = "005000000000001AAA"


def make_request(**overrides: Any) -> AccessRequest:
    fields: dict[str, Any] = {
        "id": "req-1",
        "kind": Kind.GRANT,
        "application": "crm",
        "state": State.NEEDS_ADMIN,
        "requester_id": "U0ASKER",
        "subject_id": "U0ASKER",
        "license": "Salesforce",
        "profile": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return AccessRequest(**fields)


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_incomplete_request_offers_complete() -> None:
    issue = Escalation.from_problem("incomplete: missing Profile, Role")
    assert issue.kind is EscalationKind.INCOMPLETE and issue.missing == ("Profile", "Role")
    msg = build_escalation(make_request(), APP, issue)
    assert action_ids(msg.blocks) == [ActionId.COMPLETE_REQUEST]
    assert "Missing: Profile, Role" in json.dumps(msg.blocks)
    assert msg.text.startswith("Needs an admin: CRM access for <@U0ASKER>.")


@pytest.mark.parametrize(
    ("error", "kind", "actions"),
    [
        (
            LicenseLimitExceeded("License Limit Exceeded"),
            EscalationKind.NO_FREE_SEAT,
            ["retry", "complete_request"],
        ),
        (
            ProfileLicenseMismatch("x"),
            EscalationKind.PROFILE_LICENSE_MISMATCH,
            ["retry", "complete_request"],
        ),
        (InsufficientAccess("x"), EscalationKind.INSUFFICIENT_ACCESS, ["retry"]),
        (ValidationRule("x"), EscalationKind.VALIDATION_RULE, ["retry"]),
        (SessionExpired("x"), EscalationKind.SESSION_EXPIRED, ["retry"]),
        (Transient("x"), EscalationKind.REPEATED_FAILURE, ["retry"]),
    ],
)
def test_salesforce_failures_offer_retry(
    error: SalesforceError, kind: EscalationKind, actions: list[str]
) -> None:
    issue = Escalation.from_error(error, attempts=5)
    assert issue.kind is kind
    msg = build_escalation(make_request(profile="Standard User"), APP, issue)
    assert action_ids(msg.blocks) == actions
    dumped = json.dumps(msg.blocks)
    assert "What to change" in dumped and "Tried 5 times." in dumped


def test_username_taken_suggests_another() -> None:
    raw = "Duplicate Username.<br>The username already exists in this or another org."
    issue = Escalation.from_error(DuplicateUsername(raw), suggested_username="ann@acme.com.crm")
    msg = build_escalation(make_request(profile="Standard User"), APP, issue)
    assert action_ids(msg.blocks) == [ActionId.USE_OTHER_USERNAME, ActionId.RETRY]
    dumped = json.dumps(msg.blocks)
    assert "`ann@acme.com.crm`" in dumped
    assert "```Duplicate Username.\\nThe username" in dumped  # Salesforce's <br> is a line
    assert "&lt;br" not in dumped


def test_blocked_deactivation_links_to_setup_and_quotes_salesforce() -> None:
    blocked = DeactivationBlocked(
        user_id=USER_ID,
        blocker=Blocker.DEFAULT_WORKFLOW_USER,
        explanation="They are the Default Workflow User.",
        fix="Pick another Default Workflow User in Process Automation Settings.",
        raw_message="Cannot deactivate: user is the Default Workflow User",
        frozen=True,
    )
    issue = Escalation.from_blocked(
        blocked, instance_url="https://acme.my.salesforce.com/", sf_username="ann@acme.com"
    )
    revocation = make_request(kind=Kind.REVOKE, state=State.BLOCKED, sf_user_id=USER_ID)
    msg = build_escalation(revocation, APP, issue)
    assert action_ids(msg.blocks) == [ActionId.RETRY_DEACTIVATION, ActionId.RESOLVED_IN_SALESFORCE]
    body = msg.blocks[1]["text"]["text"]
    url = (
        "https://acme.my.salesforce.com/lightning/setup/ManageUsers/page"
        f"?address=%2F{USER_ID}%3Fnoredirect%3D1"
    )
    assert f"<{url}|ann@acme.com>" in body
    assert "*Why:* They are the Default Workflow User." in body
    assert "Process Automation Settings" in body
    raw = next(b for b in msg.blocks if b["type"] == "context")
    assert raw["elements"][0]["text"].startswith("Salesforce said:\n```Cannot deactivate")
    assert msg.blocks[0]["text"]["text"] == "Deactivation blocked: CRM"


def test_setup_link_only_for_sane_urls_and_ids() -> None:
    assert setup_user_url("http://acme.my.salesforce.com", USER_ID) is None
    assert setup_user_url("https://acme.my.salesforce.com/x?y", USER_ID) is None
    assert setup_user_url("https://acme.my.salesforce.com", "005'; drop") is None
    assert setup_user_url(None, USER_ID) is None


def test_resolved_escalation_has_no_buttons_and_says_how() -> None:
    issue = Escalation.from_problem("no_free_seat", human="No seat.")
    closed = Resolution(text="Retried: the user is ready.", by="U0ADMIN1", at=NOW)
    msg = build_escalation(make_request(), APP, issue, resolution=closed)
    assert action_ids(msg.blocks) == []
    outcome = next(b for b in msg.blocks if b.get("block_id") == BlockId.OUTCOME)
    assert outcome["text"]["text"].startswith(":white_check_mark: *Closed* by <@U0ADMIN1> on ")
    assert msg.text.startswith("Resolved:")


def test_unknown_problem_reads_as_other() -> None:
    assert EscalationKind.parse("something new: details") is EscalationKind.OTHER
    assert EscalationKind.parse(None) is EscalationKind.OTHER
    assert EscalationKind.parse("Blocked_Deactivation") is EscalationKind.BLOCKED_DEACTIVATION


def test_complete_request_modal_is_prefilled() -> None:
    choices = RequestChoices(
        application="crm",
        licenses=(LicenseChoice(name="Salesforce", label="Salesforce", free=1, total=2),),
        profiles=(ProfileChoice(name="Standard User", license="Salesforce"),),
        durations=(timedelta(days=30), None),
    )
    req = make_request(duration=None, reason="Close")
    view = build_complete_request_modal(choices, req).to_dict()
    assert view["callback_id"] == CallbackId.COMPLETE_REQUEST
    ref = ModalRef.load(view["private_metadata"])
    assert (ref.request_id, ref.application, ref.subject_id) == ("req-1", "crm", "U0ASKER")
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks[BlockId.LICENSE]["element"]["initial_option"]["value"] == "Salesforce"
    assert "initial_option" not in blocks[BlockId.PROFILE]["element"]
    assert blocks[BlockId.DURATION]["element"]["initial_option"]["value"] == "permanent"
    assert blocks[BlockId.REASON]["element"]["initial_value"] == "Close"
    assert draft_from_request(req).license == "Salesforce"


def test_alternative_username_modal_round_trip() -> None:
    req = make_request(username_override="ann@acme.com")
    view = build_alternative_username_modal(req, suggested="ann@acme.com.crm").to_dict()
    assert view["callback_id"] == CallbackId.ALTERNATIVE_USERNAME
    assert view["blocks"][1]["element"]["initial_value"] == "ann@acme.com.crm"
    assert "`ann@acme.com`" in view["blocks"][0]["text"]["text"]
    state = {
        BlockId.ALTERNATIVE_USERNAME: {ActionId.ALTERNATIVE_USERNAME: {"value": " a@b.co.uat "}}
    }
    assert parse_alternative_username(state) == "a@b.co.uat"
    assert parse_alternative_username({}) == ""


@pytest.mark.parametrize(
    ("username", "ok"),
    [
        ("ann@acme.com.crm", True),
        ("ann.o'neil+crm@acme-corp.co.uk", True),
        ("", False),
        ("ann", False),
        ("ann@acme", False),
        ("ann @acme.com", False),
        ("a@b@acme.com", False),
        ("x" * 75 + "@a.com", False),
    ],
)
def test_username_must_be_email_shaped(username: str, ok: bool) -> None:
    assert (username_errors(username) == {}) is ok

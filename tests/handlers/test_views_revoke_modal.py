"""The revoke confirmation modal."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.ids import ActionId, BlockId, CallbackId
from handlers.policy import Application
from handlers.views.metadata import ModalRef
from handlers.views.revoke_modal import REVOKE_REASON_MAX, build_revoke_modal, parse_revoke_reason
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


def test_revoke_modal_names_who_and_what() -> None:
    grant = AccessRequest(
        id="req-7",
        kind=Kind.GRANT,
        application="crm",
        state=State.ACTIVE,
        requester_id="U0ANN",
        subject_id="U0ANN",
        sf_username="ann@acme.com",
        created_at=NOW,
        updated_at=NOW,
    )
    view = build_revoke_modal(APP, subject_id="U0ANN", grant=grant).to_dict()
    assert view["callback_id"] == CallbackId.REVOKE
    assert view["submit"]["text"] == "Revoke"
    text = view["blocks"][0]["text"]["text"]
    assert text.startswith("Remove <@U0ANN>'s *CRM* access (Salesforce user `ann@acme.com`)?")
    assert "frozen" in text
    assert ModalRef.load(view["private_metadata"]) == ModalRef(
        application="crm", subject_id="U0ANN", request_id="req-7"
    )
    reason = view["blocks"][1]
    assert reason["optional"] is True and reason["element"]["max_length"] == REVOKE_REASON_MAX


def test_revoke_without_a_known_grant() -> None:
    view = build_revoke_modal(APP, subject_id="U0ANN").to_dict()
    assert ModalRef.load(view["private_metadata"]).request_id is None
    assert "(Salesforce user" not in view["blocks"][0]["text"]["text"]


def test_revoke_reason_parsing() -> None:
    state = {BlockId.REVOKE_REASON: {ActionId.REVOKE_REASON: {"value": "  Left the team "}}}
    assert parse_revoke_reason(state) == "Left the team"
    unset = {BlockId.REVOKE_REASON: {ActionId.REVOKE_REASON: {"value": None}}}
    assert parse_revoke_reason(unset) == ""
    long = {BlockId.REVOKE_REASON: {ActionId.REVOKE_REASON: {"value": "y" * 5000}}}
    assert len(parse_revoke_reason(long)) == REVOKE_REASON_MAX

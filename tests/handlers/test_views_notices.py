"""DMs to requesters and subjects, and thread-reply lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.ids import ActionId, BlockId
from handlers.policy import Application
from handlers.views.notices import (
    ThreadEvent,
    build_admin_on_it,
    build_approved_setting_up,
    build_denied,
    build_expiring_soon,
    build_provisioned,
    build_request_expired,
    build_revoked,
    build_thread_reply,
    build_waiting_for_owners,
)
from handlers.views.problems import EscalationKind
from storage.models import AccessRequest, Kind, State

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
APP = Application(
    name="crm",
    display_name="CRM",
    owners=("U0OWNER1", "U0OWNER2"),
    admins=("U0ADMIN1",),
    licenses=("Salesforce",),
    profiles=("Standard User",),
)


def make_request(**overrides: Any) -> AccessRequest:
    fields: dict[str, Any] = {
        "id": "req-1",
        "kind": Kind.GRANT,
        "application": "crm",
        "state": State.PENDING_APPROVAL,
        "requester_id": "U0ASKER",
        "subject_id": "U0ASKER",
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return AccessRequest(**fields)


def first_text(blocks: list[dict[str, Any]]) -> str:
    text: str = blocks[0]["text"]["text"]
    return text


def test_waiting_names_the_owners() -> None:
    msg = build_waiting_for_owners(make_request(), APP)
    assert "Your request" not in msg.text
    assert "The request for your *CRM* access is waiting for <@U0OWNER1> or <@U0OWNER2>" in (
        msg.text
    )


def test_on_behalf_notices_name_subject_and_requester() -> None:
    msg = build_waiting_for_owners(make_request(subject_id="U0SUBJECT"), APP)
    assert "<@U0SUBJECT>'s *CRM* access (asked by <@U0ASKER>)" in msg.text


def test_approved_and_provisioned() -> None:
    approved = make_request(state=State.PROVISIONING, decided_by="U0OWNER1")
    assert "approved by <@U0OWNER1>" in build_approved_setting_up(approved, APP).text
    active = make_request(state=State.ACTIVE, expires_at=NOW + timedelta(days=30))
    msg = build_provisioned(
        active, APP, username="ann_a@acme.com.crm", login_url="https://acme.my.salesforce.com"
    )
    assert "`ann_a@acme.com.crm`" in first_text(msg.blocks)
    assert "It ends on <!date^" in first_text(msg.blocks)
    button = msg.blocks[1]["elements"][0]
    assert (button["action_id"], button["url"]) == (
        ActionId.OPEN_LOGIN,
        "https://acme.my.salesforce.com",
    )
    unsafe = build_provisioned(active, APP, username="u@x.y", login_url="javascript:alert(1)")
    assert all(b["type"] != "actions" for b in unsafe.blocks)


def test_denied_shows_the_reason_escaped() -> None:
    req = make_request(
        state=State.DENIED, decided_by="U0OWNER1", decision_note="No <!here> *budget*"
    )
    msg = build_denied(req, APP)
    assert "denied by <@U0OWNER1>" in msg.text
    assert "<!here>" not in json.dumps(msg.blocks) and "*budget*" not in json.dumps(msg.blocks)
    assert "/salesforce request" in msg.text


@pytest.mark.parametrize("kind", [*EscalationKind, None])
def test_admin_on_it_is_plain_words(kind: EscalationKind | None) -> None:
    msg = build_admin_on_it(make_request(state=State.NEEDS_ADMIN), APP, kind=kind)
    assert "<@U0ADMIN1> will sort it out" in msg.text
    assert "Traceback" not in msg.text and "errorCode" not in msg.text


def test_revoked_expired_and_expiring() -> None:
    revoked = build_revoked(make_request(state=State.REVOKED), APP, by="U0ADMIN1", reason="Left")
    assert revoked.text.startswith(":lock: Your *CRM* access was removed by <@U0ADMIN1>.")
    expired = build_request_expired(make_request(state=State.EXPIRED), APP)
    assert "Nobody decided on the request for your *CRM* access in time" in expired.text
    ending = make_request(state=State.ACTIVE, expires_at=NOW + timedelta(days=1))
    msg = build_expiring_soon(ending, APP)
    actions = next(b for b in msg.blocks if b.get("block_id") == BlockId.EXPIRY_ACTIONS)
    extend, revoke = actions["elements"]
    assert (extend["action_id"], extend["value"]) == (ActionId.EXTEND, "req-1")
    assert (revoke["action_id"], revoke["style"]) == (ActionId.REVOKE_NOW, "danger")
    assert revoke["confirm"]["confirm"]["text"] == "Revoke now"


@pytest.mark.parametrize("event", list(ThreadEvent))
def test_every_thread_line_is_one_short_section(event: ThreadEvent) -> None:
    req = make_request(sf_username="ann@acme.com")
    msg = build_thread_reply(event, req, APP, actor="U0OWNER1", detail="<!channel> x", at=NOW)
    assert len(msg.blocks) == 1 and msg.blocks[0]["type"] == "section"
    assert "<!channel>" not in msg.text


def test_thread_lines_say_who_and_when() -> None:
    req = make_request(sf_username="ann@acme.com")
    assert build_thread_reply(ThreadEvent.REMINDED, req, APP).text == (
        ":bell: Reminded <@U0OWNER1> or <@U0OWNER2>."
    )
    provisioned = build_thread_reply(ThreadEvent.PROVISIONED, req, APP)
    assert "`ann@acme.com`" in provisioned.text
    extended = build_thread_reply(ThreadEvent.EXTENDED, req, APP, actor="U0OWNER1", at=NOW)
    assert extended.text.startswith(":calendar: Extended by <@U0OWNER1> until <!date^")

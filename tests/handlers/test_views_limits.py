"""Every surface, fed hostile input, stays inside Slack's limits and keeps user text inert."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from slack_sdk.models.views import View

from handlers.flows.choices import LicenseChoice, NamedChoice, ProfileChoice, RequestChoices
from handlers.flows.drafts import RequestDraft
from handlers.flows.outcomes import RefusalReason
from handlers.policy import Application
from handlers.views.approval import (
    build_approval_outcome,
    build_approval_request,
    build_cannot_decide,
)
from handlers.views.deny_modal import build_deny_modal
from handlers.views.escalation import build_escalation
from handlers.views.escalation_modals import (
    build_alternative_username_modal,
    build_complete_request_modal,
)
from handlers.views.help import build_help, build_unknown_command
from handlers.views.message import SlackMessage
from handlers.views.metadata import ModalRef
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
from handlers.views.problems import Escalation, EscalationKind, Resolution
from handlers.views.request_modal import build_request_modal
from handlers.views.revoke_modal import build_revoke_modal
from handlers.views.submission import (
    build_refused_modal,
    build_submitted_modal,
    build_submitting_modal,
)
from salesforce.models import Blocker, DeactivationBlocked
from storage.models import AccessRequest, Kind, State

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
INJECTION = (
    "<!channel> <!here> <@UEVIL123> <#CEVIL123> *bold* _it_ ~s~ `c` ```x``` & <https://e.x|y> "
)
HOSTILE = (INJECTION + "日本語 🎉 e\u0301 \u202e ") * 40
NAME = ("Ünïcødé <@UEVIL123> *Name* " * 10)[:120]
MARKERS = ("*bold*", "_it_")
CODE = re.compile(r"```.*?```|`[^`]*`", re.DOTALL)
INJECTED = ("<!channel>", "<!here>", "<@UEVIL123>", "<#CEVIL123>", "*bold*", "_it_", "<https://e.x")

APP = Application(
    name="crm",
    display_name=NAME,
    owners=("U0OWNER1", "U0OWNER2"),
    admins=("U0ADMIN1",),
    licenses=("Salesforce",),
    profiles=("Standard User",),
)
CHOICES = RequestChoices(
    application="crm",
    licenses=tuple(
        LicenseChoice(name=f"{NAME}{i}", label=f"{NAME}{i}", free=i % 3, total=10_000)
        for i in range(20)
    ),
    profiles=tuple(ProfileChoice(name=f"{NAME} p{i}", license=f"{NAME}0") for i in range(300)),
    roles=tuple(NamedChoice(name=f"R{i}", label=f"{NAME} r{i}") for i in range(500)),
    permission_sets=tuple(NamedChoice(name=f"{NAME}{i}", label=NAME) for i in range(60)),
    durations=(*(timedelta(days=n) for n in (1, 7, 30, 90, 365)), None),
    require_role=True,
)
REQUEST = AccessRequest(
    id="req-" + "9" * 30,
    kind=Kind.GRANT,
    application="crm",
    state=State.DENIED,
    requester_id="U0ASKER",
    subject_id="U0SUBJECT",
    subject_name=NAME,
    license=NAME,
    profile=NAME,
    role=NAME,
    permission_sets=tuple(f"{NAME}{i}" for i in range(500)),
    duration=None,
    reason=HOSTILE[:3000],
    decided_by="U0OWNER1",
    decided_at=NOW,
    decision_note=HOSTILE[:3000],
    sf_user_id="005000000000001AAA",
    sf_username=("`ann`@acme.com" * 10)[:120],
    needs_admin_reason=HOSTILE[:3000],
    last_error=HOSTILE,
    expires_at=NOW + timedelta(days=1),
    created_at=NOW,
    updated_at=NOW,
)
ISSUE = Escalation(
    kind=EscalationKind.USERNAME_TAKEN,
    summary=HOSTILE,
    fix=HOSTILE,
    raw_message=HOSTILE,
    missing=tuple(NAME for _ in range(30)),
    suggested_username=HOSTILE,
    attempts=99,
)
BLOCKED = Escalation.from_blocked(
    DeactivationBlocked(
        user_id="005000000000001AAA",
        blocker=Blocker.UNKNOWN,
        explanation=HOSTILE,
        fix=HOSTILE,
        raw_message=HOSTILE,
        frozen=True,
    ),
    instance_url="https://acme.my.salesforce.com",
    sf_username=HOSTILE,
)
DRAFT = RequestDraft(
    application="crm",
    license=f"{NAME}0",
    profile=f"{NAME} p5",
    role="R7",
    permission_sets=tuple(f"{NAME}{i}" for i in range(60)),
    reason=HOSTILE[:2000],
)

MESSAGES: dict[str, Callable[[], SlackMessage]] = {
    "approval_request": lambda: build_approval_request(
        REQUEST, APP, requester_name=HOSTILE, subject_name=HOSTILE
    ),
    "approval_outcome": lambda: build_approval_outcome(REQUEST, APP, requester_name=HOSTILE),
    "cannot_decide": lambda: build_cannot_decide(RefusalReason.NOT_OWNER, request=REQUEST, app=APP),
    "already_decided": lambda: build_cannot_decide(
        RefusalReason.ALREADY_DECIDED, request=REQUEST, app=APP
    ),
    "waiting": lambda: build_waiting_for_owners(REQUEST, APP),
    "setting_up": lambda: build_approved_setting_up(REQUEST, APP),
    "provisioned": lambda: build_provisioned(
        REQUEST, APP, username=HOSTILE, login_url="https://acme.my.salesforce.com"
    ),
    "denied": lambda: build_denied(REQUEST, APP),
    "admin_on_it": lambda: build_admin_on_it(REQUEST, APP, kind=EscalationKind.OTHER),
    "revoked": lambda: build_revoked(REQUEST, APP, by="U0ADMIN1", reason=HOSTILE),
    "expired": lambda: build_request_expired(REQUEST, APP),
    "expiring": lambda: build_expiring_soon(REQUEST, APP),
    "thread": lambda: build_thread_reply(
        ThreadEvent.NEEDS_ADMIN, REQUEST, APP, actor="U0ADMIN1", detail=HOSTILE
    ),
    "escalation": lambda: build_escalation(REQUEST, APP, ISSUE),
    "blocked": lambda: build_escalation(REQUEST, APP, BLOCKED),
    "resolved": lambda: build_escalation(
        REQUEST, APP, BLOCKED, resolution=Resolution(text=HOSTILE, by="U0ADMIN1", at=NOW)
    ),
    "help": build_help,
    "unknown_command": lambda: build_unknown_command(HOSTILE),
}

VIEWS: dict[str, Callable[[], View]] = {
    "request": lambda: build_request_modal(
        CHOICES,
        applications=[(f"app{i}", NAME) for i in range(150)],
        selected=DRAFT,
        on_behalf_of="U0SUBJECT",
    ),
    "deny": lambda: build_deny_modal(REQUEST, APP),
    "complete": lambda: build_complete_request_modal(CHOICES, REQUEST),
    "alternative_username": lambda: build_alternative_username_modal(REQUEST, suggested=HOSTILE),
    "revoke": lambda: build_revoke_modal(APP, subject_id="U0SUBJECT", grant=REQUEST),
    "submitting": build_submitting_modal,
    "submitted": lambda: build_submitted_modal(REQUEST),
    "refused": lambda: build_refused_modal(
        {HOSTILE[:40]: HOSTILE, "profile": HOSTILE, "duration": HOSTILE},
        ModalRef(subject_id="U0SUBJECT", application=NAME[:100]),
    ),
}


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def text_of(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if isinstance(value, dict):
        return str(value.get("text", ""))
    return str(value or "")


def assert_within_limits(blocks: list[dict[str, Any]]) -> None:
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    action_ids = [n["action_id"] for n in walk(blocks) if "action_id" in n]
    assert len(action_ids) == len(set(action_ids))
    for node in walk(blocks):
        kind = node.get("type")
        assert len(str(node.get("block_id", ""))) <= 255
        assert len(str(node.get("action_id", ""))) <= 255
        if kind == "mrkdwn":
            text = node["text"]
            assert len(text) <= 3000
            # Formatting is off inside code, so only links and mentions matter there.
            outside_code = CODE.sub("", text)
            for bad in INJECTED:
                assert bad not in (outside_code if bad in MARKERS else text), (bad, text[:200])
            assert "\u202e" not in text
        if kind == "section":
            assert len(text_of(node, "text")) <= 3000
            assert len(node.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in node.get("fields", []))
        if kind == "header":
            assert len(text_of(node, "text")) <= 150
        if kind == "context":
            assert len(node["elements"]) <= 10
        if kind == "actions":
            assert len(node["elements"]) <= 25
        if kind == "button":
            assert len(text_of(node, "text")) <= 75 and len(node.get("value", "")) <= 2000
        if kind in ("static_select", "multi_static_select"):
            assert 1 <= len(node["options"]) <= 100
        if "placeholder" in node:
            assert len(text_of(node, "placeholder")) <= 150
        if "value" in node and "text" in node and kind is None:  # an option
            assert len(node["value"]) <= 75 and len(text_of(node, "text")) <= 75
        if "confirm" in node and isinstance(node["confirm"], dict) and "title" in node["confirm"]:
            confirm = node["confirm"]
            assert len(text_of(confirm, "title")) <= 100 and len(text_of(confirm, "text")) <= 300


@pytest.mark.parametrize("name", list(MESSAGES))
def test_messages_fit_and_stay_inert(name: str) -> None:
    msg = MESSAGES[name]()
    assert 0 < len(msg.text) <= 3000
    assert len(msg.blocks) <= 50
    assert_within_limits(msg.blocks)
    for bad in ("<!channel>", "<!here>", "<@UEVIL123>"):
        assert bad not in msg.text
    json.dumps(msg.blocks)


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_fit_and_stay_inert(name: str) -> None:
    view = VIEWS[name]().to_dict()
    assert 1 <= len(view["blocks"]) <= 100
    assert len(view["title"]["text"]) <= 24
    for key in ("submit", "close"):
        assert len(text_of(view, key)) <= 24
    assert len(view.get("private_metadata", "")) <= 200
    assert_within_limits(view["blocks"])


def test_message_model_refuses_more_than_fifty_blocks_or_no_text() -> None:
    block = {"type": "divider"}
    with pytest.raises(ValidationError):
        SlackMessage(text="x", blocks=[block] * 51)
    with pytest.raises(ValidationError):
        SlackMessage(text="", blocks=[])
    assert len(SlackMessage(text="x", blocks=[block] * 50).blocks) == 50


def test_hostile_application_list_still_selects_by_name() -> None:
    view = VIEWS["request"]().to_dict()
    app_block = next(b for b in view["blocks"] if b.get("block_id") == "application")
    assert app_block["element"]["type"] == "external_select"
    labels = [o["text"]["text"] for o in CHOICES_OPTIONS()]
    assert len(labels) == len(set(labels))


def CHOICES_OPTIONS() -> list[dict[str, Any]]:
    view = build_request_modal(CHOICES, selected=DRAFT).to_dict()
    lic = next(b for b in view["blocks"] if b.get("block_id") == "license")
    options: list[dict[str, Any]] = lic["element"]["options"]
    return options

"""``/salesforce status`` and ``/salesforce pending``: lists, buttons, 50-block cap, inert text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sandbox.slack_blocks import block_problems
from handlers.ids import ActionId
from handlers.policy import Application, Policy
from handlers.views.message import SlackMessage
from handlers.views.status import build_pending, build_status
from storage.models import AccessRequest, Kind, State

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
INJECTION = "<!channel> <@UEVIL123> <https://e.x|y> *bold* & "
POLICY = Policy(
    applications=(
        Application(
            name="sales",
            display_name="Sales",
            owners=("U0OWNER1",),
            admins=("U0ADMIN1",),
            licenses=("Salesforce",),
            profiles=("Standard User",),
        ),
    )
)


def make(**overrides: Any) -> AccessRequest:
    fields: dict[str, Any] = {
        "id": "req-1",
        "kind": Kind.GRANT,
        "application": "sales",
        "state": State.ACTIVE,
        "requester_id": "U0JANE001",
        "subject_id": "U0JANE001",
        "profile": "Standard User",
        "duration": timedelta(days=30),
        "created_at": NOW - timedelta(days=1),
        "updated_at": NOW,
        "expires_at": NOW + timedelta(days=20),
    }
    fields.update(overrides)
    return AccessRequest(**fields)


def checked(msg: SlackMessage) -> list[dict[str, Any]]:
    assert block_problems(msg.blocks, limit=50) == []
    return msg.blocks


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def by_action(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [n for n in walk(blocks) if n.get("action_id") == action_id]


def mrkdwn(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(n["text"] for n in walk(blocks) if n.get("type") == "mrkdwn")


def test_status_lists_access_with_buttons_then_requests() -> None:
    grant = make(id="g1", sf_username="jane@acme.com")
    waiting = make(id="p1", state=State.PENDING_APPROVAL, expires_at=None)
    msg = build_status([waiting, grant], policy=POLICY, now=NOW)
    blocks = checked(msg)
    body = mrkdwn(blocks)
    assert body.index("Your Salesforce access") < body.index("Your requests")
    assert "Waiting for approval" in body and "`jane@acme.com`" in body
    assert "ends on <!date^" in body and ":alarm_clock:" not in body  # not ending soon
    [revoke] = by_action(blocks, ActionId.REVOKE_NOW)
    [extend] = by_action(blocks, ActionId.EXTEND)
    assert revoke["value"] == extend["value"] == "g1"
    assert revoke["confirm"]["confirm"]["text"] == "Revoke now"
    assert msg.text == "Your Salesforce access: 1 active, 1 open request."


def test_status_without_anything_says_how_to_ask() -> None:
    msg = build_status([], policy=POLICY, now=NOW)
    assert "/salesforce request" in mrkdwn(checked(msg))
    assert msg.text == "Your Salesforce access: 0 active, 0 open requests."


def test_status_of_someone_elses_access_and_a_removal() -> None:
    for_bob = make(id="b1", subject_id="U0BOB0001")
    removal = make(id="x1", kind=Kind.REVOKE, state=State.BLOCKED, expires_at=None)
    body = mrkdwn(checked(build_status([for_bob, removal], policy=POLICY, now=NOW)))
    assert "for <@U0BOB0001> (asked by <@U0JANE001>)" in body
    assert "Removal of the access" in body and "Removal blocked" in body


def test_status_of_three_hundred_keeps_fifty_blocks_and_the_newest() -> None:
    many = [
        make(
            id=f"r{i}",
            state=State.ACTIVE if i % 3 else State.DENIED,
            created_at=NOW - timedelta(hours=i),
            reason=INJECTION * 40,
        )
        for i in range(300)
    ]
    blocks = checked(build_status(many, policy=POLICY, now=NOW))
    assert len(blocks) <= 50
    assert len(re.findall(r"and \d+ more", mrkdwn(blocks))) == 2
    revokes = [b["value"] for b in by_action(blocks, ActionId.REVOKE_NOW)]
    assert revokes[:3] == ["r1", "r2", "r4"]


def test_pending_offers_approve_and_deny_with_a_confirm() -> None:
    req = make(
        id="w1",
        state=State.PENDING_APPROVAL,
        requester_id="U0JANE001",
        subject_id="U0BOB0001",
        reason="Quarter close",
    )
    msg = build_pending([req], policy=POLICY, now=NOW)
    blocks = checked(msg)
    [approve] = by_action(blocks, ActionId.APPROVE)
    [deny] = by_action(blocks, ActionId.DENY)
    assert approve["value"] == deny["value"] == "w1"
    assert approve["style"] == "primary"
    assert deny["confirm"]["style"] == "danger" and deny["confirm"]["deny"]["text"] == "Back"
    body = mrkdwn(blocks)
    assert "<@U0JANE001> asks for *Sales* access for <@U0BOB0001>." in body
    assert ">Quarter close" in body
    assert msg.text == "1 request waits for your decision."


def test_pending_lists_escalations_for_admins_and_says_when_nothing_waits() -> None:
    stuck = make(id="e1", state=State.NEEDS_ADMIN, needs_admin_reason="username_taken: x")
    msg = build_pending([], policy=POLICY, now=NOW, escalations=[stuck])
    body = mrkdwn(checked(msg))
    assert "Needs an admin" in body and "The username is taken" in body
    assert msg.text == "0 requests wait for your decision; 1 needs an admin."
    empty = build_pending([], policy=POLICY, now=NOW)
    assert "Nothing waits for you" in mrkdwn(checked(empty))


def test_pending_of_three_hundred_fits_and_stays_inert() -> None:
    many = [
        make(
            id=f"w{i}",
            state=State.PENDING_APPROVAL,
            requester_id=INJECTION,
            subject_id="<!here>",
            profile=INJECTION,
            license=INJECTION,
            role=INJECTION,
            permission_sets=tuple(INJECTION + str(j) for j in range(80)),
            reason=INJECTION * 60,
            created_at=NOW - timedelta(minutes=i),
        )
        for i in range(300)
    ]
    msg = build_pending(many, policy=POLICY, now=NOW, escalations=many[:100])
    blocks = checked(msg)
    assert len(blocks) <= 50
    assert by_action(blocks, ActionId.APPROVE)[0]["value"] == "w0"
    for node in walk(blocks):
        if node.get("type") == "mrkdwn":
            for bad in ("<!channel>", "<!here>", "<@UEVIL123>", "<https://e.x", "*bold*"):
                assert bad not in node["text"], (bad, node["text"][:200])
    assert "<!channel>" not in msg.text


def test_pending_says_how_long_each_request_has_waited() -> None:
    old = make(id="w1", state=State.PENDING_APPROVAL, created_at=NOW - timedelta(days=3, hours=2))
    new = make(id="w2", state=State.PENDING_APPROVAL, created_at=NOW - timedelta(minutes=1))
    body = mrkdwn(checked(build_pending([old, new], policy=POLICY, now=NOW)))
    assert "waiting 3 days" in body and "waiting 1 minute" in body


def test_hints_name_the_configured_command() -> None:
    body = mrkdwn(checked(build_status([], policy=POLICY, now=NOW, command="/sf")))
    assert "`/sf request`" in body and "/salesforce" not in body

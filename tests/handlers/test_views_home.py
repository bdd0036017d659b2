"""The App Home tab: sections per viewer, buttons, confirms, block budget and inert text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sandbox.slack_views import check_view
from handlers.flows.choices import LicenseChoice
from handlers.ids import ActionId, BlockId
from handlers.policy import Application, Policy
from handlers.views.catalog_admin import CatalogAdminView, ProfileEntry
from handlers.views.catalog_values import CatalogKind, parse_catalog_position
from handlers.views.home import build_home
from storage.models import AccessRequest, Kind, State

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
EMPLOYEE, OWNER, ADMIN, BOTH, ASKER = "U0EMPLOY1", "U0OWNER1", "U0ADMIN1", "U0BOTH001", "U0ASKER01"
INJECTION = "<!channel> <@UEVIL123> <https://e.x|y> *bold* & "
NAME = ("Ünïcødé <!here> *Name* " * 10)[:120]
POLICY = Policy(
    applications=(
        Application(
            name="sales",
            display_name="Sales <!channel> *Cloud*",
            owners=(OWNER, BOTH),
            admins=(ADMIN, BOTH),
            licenses=("Salesforce",),
            profiles=("Standard User",),
        ),
        Application(
            name="service",
            owners=("U0OTHER01",),
            admins=("U0OTHER01",),
            licenses=("Salesforce",),
            profiles=("Standard User",),
        ),
    )
)
CATALOG = CatalogAdminView(
    application="sales",
    title="Sales",
    profiles=(ProfileEntry(name="Custom Sales", license="Salesforce"),),
)
SEATS = (LicenseChoice(name="Salesforce", label="Salesforce", free=0, total=10),)


def make(**overrides: Any) -> AccessRequest:
    fields: dict[str, Any] = {
        "id": "req-1",
        "kind": Kind.GRANT,
        "application": "sales",
        "state": State.PENDING_APPROVAL,
        "requester_id": ASKER,
        "subject_id": ASKER,
        "license": "Salesforce",
        "profile": "Standard User",
        "created_at": NOW - timedelta(days=1),
        "updated_at": NOW,
    }
    fields.update(overrides)
    return AccessRequest(**fields)


def home(viewer: str, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "policy": POLICY,
        "mine": [],
        "waiting": [make(id="w1")],
        "escalations": [make(id="e1", state=State.NEEDS_ADMIN, needs_admin_reason="no_free_seat")],
        "seats": SEATS,
        "catalog_admin": CATALOG,
        "now": NOW,
    }
    args.update(overrides)
    view = build_home(viewer, **args).to_dict()
    check_view(view, kind="home")
    return view


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [n["text"] for n in walk(blocks) if n.get("type") in ("mrkdwn", "plain_text")]


def headers(view: dict[str, Any]) -> list[str]:
    found = [b for b in view["blocks"] if b["type"] == "header"]
    return [b["text"]["text"] for b in found]


def buttons(view: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    return [n for n in walk(view["blocks"]) if n.get("action_id") == action_id]


def test_plain_employee_sees_only_their_own_sections() -> None:
    view = home(EMPLOYEE, mine=[make(requester_id=EMPLOYEE, subject_id=EMPLOYEE)])
    assert headers(view) == ["Salesforce access", "Your Salesforce access"]
    assert not buttons(view, ActionId.APPROVE)
    assert not buttons(view, ActionId.TOGGLE_REQUESTABLE)
    assert not any("seats free" in t for t in texts(view["blocks"]))
    assert any("Waiting for approval" in t for t in texts(view["blocks"]))


def test_owner_sees_what_waits_for_them_with_approve_and_deny() -> None:
    view = home(OWNER)
    assert "Waiting for your decision" in headers(view)
    assert "Needs an admin" not in headers(view)
    [approve] = buttons(view, ActionId.APPROVE)
    [deny] = buttons(view, ActionId.DENY)
    assert approve["value"] == deny["value"] == "w1"
    assert deny["confirm"]["style"] == "danger"
    assert deny["confirm"]["confirm"]["text"] == "Deny"
    assert not buttons(view, ActionId.TOGGLE_REQUESTABLE)


def test_owner_is_not_offered_their_own_request_or_other_applications() -> None:
    own = make(id="own", requester_id=OWNER, subject_id=OWNER)
    other = make(id="other", application="service")
    view = home(OWNER, waiting=[own, other])
    assert not buttons(view, ActionId.APPROVE)
    assert any("Nothing waits for your decision" in t for t in texts(view["blocks"]))


def test_admin_sees_escalations_seats_and_catalog_but_no_decisions() -> None:
    view = home(ADMIN)
    assert "Waiting for your decision" not in headers(view)
    assert "Needs an admin" in headers(view)
    assert "What Sales offers" in headers(view)
    body = "\n".join(texts(view["blocks"]))
    assert "No free seat on the User License" in body
    assert ":warning: *Salesforce*: 0 of 10 seats free" in body
    [toggle] = buttons(view, ActionId.TOGGLE_REQUESTABLE)
    assert toggle["text"]["text"] == "Make requestable"
    assert not buttons(view, ActionId.APPROVE)


def test_someone_both_owner_and_admin_sees_every_section_in_order() -> None:
    view = home(BOTH, mine=[make(id="m1", requester_id=BOTH, subject_id=BOTH)])
    assert headers(view) == [
        "Salesforce access",
        "Waiting for your decision",
        "Needs an admin",
        "Your Salesforce access",
        "Seats per license",
        "What Sales offers",
    ]
    assert [b["value"] for b in buttons(view, ActionId.APPROVE)] == ["w1"]


def test_admin_of_another_application_does_not_see_this_catalog() -> None:
    view = home("U0OTHER01")
    assert not buttons(view, ActionId.TOGGLE_REQUESTABLE)
    assert not any("No free seat" in t for t in texts(view["blocks"]))


def test_unknown_seats_are_said_so() -> None:
    view = home(ADMIN, seats=None)
    assert any("Seat counts are not available" in t for t in texts(view["blocks"]))


def test_grant_shows_its_end_and_revoke_asks_to_confirm() -> None:
    grant = make(
        id="g1",
        state=State.ACTIVE,
        requester_id=EMPLOYEE,
        subject_id=EMPLOYEE,
        expires_at=NOW + timedelta(hours=3),
        sf_username="jane@acme.com",
    )
    view = home(EMPLOYEE, mine=[grant])
    body = "\n".join(texts(view["blocks"]))
    end = int((NOW + timedelta(hours=3)).timestamp())
    assert f"ends on <!date^{end}^" in body
    assert ":alarm_clock:" in body  # within the policy's expiry warning
    [revoke] = buttons(view, ActionId.REVOKE_NOW)
    [extend] = buttons(view, ActionId.EXTEND)
    assert revoke["value"] == extend["value"] == "g1"
    assert revoke["style"] == "danger" and revoke["confirm"]["style"] == "danger"
    assert "deactivated" in revoke["confirm"]["text"]["text"]


def test_permanent_grant_has_no_extend_and_finished_requests_no_buttons() -> None:
    grant = make(id="g1", state=State.ACTIVE, expires_at=None)
    done = make(id="d1", state=State.REVOKED, expires_at=NOW)
    view = home(EMPLOYEE, mine=[grant, done])
    assert [b["value"] for b in buttons(view, ActionId.REVOKE_NOW)] == ["g1"]
    assert not buttons(view, ActionId.EXTEND)
    assert any("no end date" in t for t in texts(view["blocks"]))


def test_three_hundred_requests_of_each_kind_fit_with_a_more_line() -> None:
    many = [
        make(
            id=f"r{i}",
            state=State.ACTIVE if i % 2 else State.PENDING_APPROVAL,
            requester_id=BOTH if i < 300 else ASKER,
            subject_id=BOTH if i < 300 else ASKER,
            created_at=NOW - timedelta(minutes=i),
            expires_at=NOW + timedelta(days=3),
            reason=INJECTION * 20,
            permission_sets=tuple(f"{NAME}{j}" for j in range(50)),
        )
        for i in range(600)
    ]
    big_catalog = CATALOG.model_copy(
        update={"profiles": tuple(ProfileEntry(name=f"{NAME}{i}") for i in range(300))}
    )
    view = home(
        BOTH,
        mine=many[:300],
        waiting=many[300:],
        escalations=[m.model_copy(update={"state": State.NEEDS_ADMIN}) for m in many[300:]],
        catalog_admin=big_catalog,
    )
    assert len(view["blocks"]) <= 100
    body = "\n".join(texts(view["blocks"]))
    assert re.search(r"and \d+ more — use `/salesforce status`", body)
    assert re.search(r"and \d+ more — use `/salesforce pending`", body)
    # The newest items are the ones shown.
    shown = [b["value"] for b in buttons(view, ActionId.APPROVE)]
    assert shown and shown == [f"r{i}" for i in range(300, 300 + len(shown))]
    # Every list got a share of the budget.
    assert buttons(view, ActionId.REVOKE_NOW) and len(shown) >= 3
    assert any("No free seat" in t or "refused" in t for t in texts(view["blocks"]))
    assert len(buttons(view, ActionId.TOGGLE_REQUESTABLE)) == 20


def test_catalog_kind_and_page_are_shown_as_asked() -> None:
    roles = tuple(ProfileEntry(name=f"R{i:03}") for i in range(45))
    catalog = CATALOG.model_copy(update={"roles": roles})
    view = home(ADMIN, catalog_admin=catalog, catalog_kind="roles", catalog_page=2)
    nav = next(b for b in view["blocks"] if b.get("block_id") == BlockId.CATALOG_NAV)
    menu = nav["elements"][0]
    assert parse_catalog_position(menu["initial_option"]["value"]) is not None
    assert menu["initial_option"]["text"]["text"].startswith("Roles")
    toggles = buttons(view, ActionId.TOGGLE_REQUESTABLE)
    assert len(toggles) == 5  # the third page of 45
    [previous] = buttons(view, ActionId.CATALOG_PREVIOUS)
    position = parse_catalog_position(previous["value"])
    assert position is not None and position.kind is CatalogKind.ROLES and position.page == 1
    assert not buttons(view, ActionId.CATALOG_NEXT)


def test_hostile_text_stays_inert() -> None:
    hostile = make(
        id="h1",
        state=State.ACTIVE,
        requester_id=BOTH,
        subject_id="<!channel>",
        license=INJECTION,
        profile=INJECTION,
        role=INJECTION,
        permission_sets=(INJECTION,),
        reason=INJECTION * 50,
        sf_username="`x`<@UEVIL123>",
        expires_at=NOW + timedelta(days=9),
    )
    waiting = hostile.model_copy(update={"id": "h2", "requester_id": INJECTION})
    catalog = CATALOG.model_copy(
        update={"profiles": (ProfileEntry(name=INJECTION.strip(), license=INJECTION),)}
    )
    view = home(BOTH, mine=[hostile], waiting=[waiting], catalog_admin=catalog)
    for node in walk(view["blocks"]):
        if node.get("type") == "mrkdwn":
            for bad in ("<!channel>", "<!here>", "<@UEVIL123>", "<https://e.x", "*bold*"):
                assert bad not in node["text"], (bad, node["text"][:200])
        if node.get("type") == "plain_text":
            assert len(node["text"]) <= 300


def test_hints_name_the_configured_command() -> None:
    many = [make(id=f"m{i}", state=State.DENIED) for i in range(120)]
    body = "\n".join(texts(home(EMPLOYEE, mine=many, command="/sf")["blocks"]))
    assert "use `/sf status`" in body and "/salesforce" not in body

"""The admin's catalog section: kinds, paging, toggle buttons and their values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.sandbox.slack_blocks import block_problems
from handlers.ids import ActionId, BlockId
from handlers.policy import Application
from handlers.views.catalog_admin import (
    CATALOG_PAGE_SIZE,
    CatalogAdminView,
    CatalogEntry,
    LicenseEntry,
    ProfileEntry,
    build_catalog_section,
)
from handlers.views.catalog_values import (
    CatalogKind,
    CatalogPosition,
    ToggleRequest,
    is_plain_name,
    parse_catalog_position,
    parse_toggle_value,
    position_value,
    toggle_value,
)
from tests.handlers.fakes import demo_catalog

NAME = ("Ünïcødé <!here> *Name* | " * 10)[:120]
BIG = CatalogAdminView(
    application="sales",
    title="Sales",
    licenses=(LicenseEntry(name="Salesforce", requestable=True, free=3, total=10),),
    profiles=tuple(
        ProfileEntry(name=f"{NAME}{i:03}", license="Salesforce", requestable=i % 7 == 0)
        for i in range(300)
    ),
    roles=tuple(CatalogEntry(name=f"R{i:03}", label=f"{NAME}{i:03}") for i in range(500)),
)


def section(view: CatalogAdminView, **kwargs: Any) -> list[dict[str, Any]]:
    blocks: list[Block] = build_catalog_section(view, **kwargs)
    dicts = [b.to_dict() for b in blocks]
    assert block_problems(dicts, limit=100) == []
    return dicts


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def toggles(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in walk(blocks) if n.get("action_id") == ActionId.TOGGLE_REQUESTABLE]


def nav(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return next(b for b in blocks if b.get("block_id") == BlockId.CATALOG_NAV)


@pytest.mark.parametrize(("kind", "total"), [("profiles", 300), ("roles", 500)])
def test_every_page_of_a_large_catalog_fits_and_covers_every_name(kind: str, total: int) -> None:
    seen: list[str] = []
    page = 0
    while True:
        blocks = section(BIG, kind=kind, page=page)
        assert len(blocks) <= CATALOG_PAGE_SIZE + 4
        seen.extend(r.name for r in (parse_toggle_value(t["value"]) for t in toggles(blocks)) if r)
        following = [n for n in walk(blocks) if n.get("action_id") == ActionId.CATALOG_NEXT]
        if not following:
            break
        position = parse_catalog_position(following[0]["value"])
        assert position is not None and position.page == page + 1
        page += 1
    names = {e.name for e in BIG.entries(CatalogKind(kind))}
    assert len(seen) == total and set(seen) == names


def test_toggle_offers_the_opposite_of_the_current_state() -> None:
    blocks = section(BIG, kind="profiles")
    for button in toggles(blocks):
        request = parse_toggle_value(button["value"])
        assert request is not None
        entry = next(p for p in BIG.profiles if p.name == request.name)
        assert request.requestable is not entry.requestable
        assert request.position == CatalogPosition(application="sales", kind="profiles", page=0)
        if entry.requestable:
            assert button["text"]["text"] == "Stop offering"
            assert button["confirm"]["style"] == "danger"
        else:
            assert button["text"]["text"] == "Make requestable"
            assert "confirm" not in button


def test_kind_menu_lists_every_kind_with_counts_and_selects_the_current_one() -> None:
    blocks = section(BIG, kind="roles", page=3)
    menu = nav(blocks)["elements"][0]
    assert menu["action_id"] == ActionId.CATALOG_KIND
    labels = [o["text"]["text"] for o in menu["options"]]
    assert labels[1] == "Profiles (43 of 300 offered)"
    assert menu["initial_option"]["text"]["text"] == "Roles (0 of 500 offered)"
    kinds = [parse_catalog_position(o["value"]) for o in menu["options"]]
    assert [k.kind for k in kinds if k] == list(CatalogKind)
    assert all(k is not None and k.page == 0 for k in kinds)


def test_page_out_of_range_and_unknown_kind_fall_back() -> None:
    last = section(BIG, kind="roles", page=10_000)
    assert any("Page 25 of 25" in n.get("text", "") for n in walk(last))
    fallback = section(BIG, kind="nonsense", page=-3)
    assert any("Page 1 of 15" in n.get("text", "") for n in walk(fallback))


def test_empty_kind_says_so() -> None:
    blocks = section(BIG, kind="groups")
    assert any("The org has no permission set groups" in n.get("text", "") for n in walk(blocks))
    assert not [n for n in walk(blocks) if n.get("action_id") == ActionId.CATALOG_NEXT]


def test_profile_of_a_license_not_offered_warns_that_requests_will_not_list_it() -> None:
    view = CatalogAdminView(
        application="sales",
        licenses=(LicenseEntry(name="Platform", requestable=False),),
        profiles=(ProfileEntry(name="Custom", license="Platform"),),
    )
    text = "\n".join(n["text"] for n in walk(section(view)) if n.get("type") == "mrkdwn")
    assert "license not offered" in text


def test_hostile_names_stay_inert() -> None:
    for kind in ("profiles", "roles"):
        for node in walk(section(BIG, kind=kind)):
            if node.get("type") == "mrkdwn":
                assert "<!here>" not in node["text"] and "*Name*" not in node["text"]


def test_from_catalog_marks_what_the_policy_names() -> None:
    app = Application(
        name="sales",
        owners=("U0OWNER1",),
        admins=("U0ADMIN1",),
        licenses=("Salesforce",),
        profiles=("Standard User",),
        roles=("Sales Rep",),  # by Name, not DeveloperName
        permission_sets=("Sales_Ops",),
    )
    view = CatalogAdminView.from_catalog(app, demo_catalog())
    assert [(p.name, p.requestable, p.license) for p in view.profiles] == [
        ("Standard User", True, "Salesforce"),
        ("Sales User", False, "Salesforce"),
        ("Standard Platform User", False, "Salesforce Platform"),
    ]
    assert [(r.name, r.requestable) for r in view.roles] == [("SalesRep", True)]
    assert [(lic.name, lic.requestable, lic.free) for lic in view.licenses] == [
        ("Salesforce", True, 6),
        ("Salesforce Platform", False, 0),
    ]
    assert view.permission_sets[0].requestable


def test_making_a_new_profile_requestable_is_one_click_from_the_default_page() -> None:
    view = CatalogAdminView(
        application="sales",
        licenses=(LicenseEntry(name="Salesforce", requestable=True),),
        profiles=(ProfileEntry(name="New Custom Profile", license="Salesforce"),),
    )
    [button] = toggles(section(view))
    assert parse_toggle_value(button["value"]) == ToggleRequest(
        position=CatalogPosition(application="sales"), name="New Custom Profile", requestable=True
    )


names = st.text(min_size=1, max_size=255).filter(lambda s: s == s.strip())


@given(
    app=st.from_regex(r"^[a-z0-9][a-z0-9_-]{0,39}$", fullmatch=True),
    kind=st.sampled_from(CatalogKind),
    page=st.integers(0, 9999),
    name=names,
    requestable=st.booleans(),
)
def test_values_round_trip(
    app: str, kind: CatalogKind, page: int, name: str, requestable: bool
) -> None:
    position = CatalogPosition(application=app, kind=kind, page=page)
    assert len(position_value(position)) <= 75
    assert parse_catalog_position(position_value(position)) == position
    request = ToggleRequest(position=position, name=name, requestable=requestable)
    value = toggle_value(request)
    assert len(value) <= 2000
    parsed = parse_toggle_value(value)
    # A name no org could hold (control characters) is refused rather than mangled.
    assert parsed == (request if is_plain_name(name) else None)


@given(st.one_of(st.text(max_size=3000), st.none(), st.integers(), st.binary()))
def test_forged_values_never_raise(value: object) -> None:
    toggle = parse_toggle_value(value)
    position = parse_catalog_position(value)
    assert toggle is None or (isinstance(value, str) and value.startswith("t1|"))
    assert position is None or (isinstance(value, str) and value.startswith("c1|"))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "t1",
        "t1|sales|p|0|1|",
        "t1|Sales|p|0|1|X",  # application names are lower case
        "t1|sales|x|0|1|X",  # unknown kind
        "t1|sales|p|-1|1|X",
        "t1|sales|p|01|1|X",
        "t1|sales|p|10000|1|X",
        "t1|sales|p|٣|1|X",  # a digit, but not an ASCII one
        "t1|sales|p|0|2|X",
        "t1|sales|p|0|1| X",
        "t1|sales|p|0|1|X\u0000",
        "t1|sales|p|0|1|A\nB",
        "t2|sales|p|0|1|X",
        "t1|sales|p|0|1|" + "x" * 256,
        "t1|sales|p|0|1|" + "x" * 3000,
        "c1|sales|p|0",
    ],
)
def test_forged_toggle_values_are_refused(value: str) -> None:
    assert parse_toggle_value(value) is None


@pytest.mark.parametrize(
    "value", ["c1|sales|p", "c1|sales|p|0|x", "c2|sales|p|0", "c1|sales|q|0", "c1||p|0", "x" * 80]
)
def test_forged_positions_are_refused(value: str) -> None:
    assert parse_catalog_position(value) is None


def test_names_containing_the_separator_survive() -> None:
    request = ToggleRequest(
        position=CatalogPosition(application="sales"), name="A | B | C", requestable=False
    )
    assert parse_toggle_value(toggle_value(request)) == request


def test_a_name_no_button_can_carry_is_shown_without_one() -> None:
    view = CatalogAdminView(application="sales", roles=(CatalogEntry(name="x" * 300),))
    blocks = section(view, kind="roles")
    assert not toggles(blocks)
    assert any("can't be managed from Slack" in n.get("text", "") for n in walk(blocks))

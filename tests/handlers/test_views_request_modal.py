"""The request modal: what it offers, that it fits Slack, and reading it back."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.flows.choices import LicenseChoice, NamedChoice, ProfileChoice, RequestChoices
from handlers.flows.drafts import RequestDraft, check_draft
from handlers.ids import ActionId, BlockId, CallbackId
from handlers.views.metadata import ModalRef
from handlers.views.options import build_options, option_value
from handlers.views.request_modal import (
    UNSET_DURATION,
    build_loading_modal,
    build_request_modal,
    build_unavailable_modal,
    field_errors_to_blocks,
    parse_request_state,
)
from handlers.views.request_options import items_for_action

LONG = "Custom Sales Representative Profile for Europe, the Middle East and Africa - "


def small_choices(**overrides: Any) -> RequestChoices:
    fields: dict[str, Any] = {
        "application": "crm",
        "licenses": (
            LicenseChoice(name="Salesforce", label="Salesforce", free=4, total=10),
            LicenseChoice(name="Platform", label="Salesforce Platform", free=0, total=5),
        ),
        "profiles": (
            ProfileChoice(name="Standard User", license="Salesforce"),
            ProfileChoice(name="Sales Rep", license="Salesforce"),
            ProfileChoice(name="Platform User", license="Platform"),
        ),
        "roles": (NamedChoice(name="Sales_EMEA", label="Sales EMEA"),),
        "permission_sets": (
            NamedChoice(name="Reports", label="Run reports"),
            NamedChoice(name="group:Support", label="Support bundle"),
        ),
        "durations": (timedelta(days=30), timedelta(days=90), None),
    }
    fields.update(overrides)
    return RequestChoices(**fields)


def big_choices() -> RequestChoices:
    """300 long profile names, 500 roles and 150 permission sets: every select goes external."""
    return small_choices(
        profiles=tuple(
            ProfileChoice(name=f"{LONG}{i:03d}", license="Salesforce") for i in range(300)
        ),
        roles=tuple(NamedChoice(name=f"Role_{i}", label=f"Role number {i}") for i in range(500)),
        permission_sets=tuple(
            NamedChoice(name=f"{'PS_' * 30}{i}", label=f"{LONG}set {i}") for i in range(150)
        ),
    )


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def slack_state(view: dict[str, Any], picks: dict[str, Any] | None = None) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it: every input listed, unset ones null or []."""
    picks = picks or {}
    values: dict[str, Any] = {}
    for block_id, block in inputs(view).items():
        element = block["element"]
        kind = element["type"]
        state: dict[str, Any] = {"type": kind}
        if kind in ("static_select", "external_select"):
            state["selected_option"] = element.get("initial_option")
            if block_id in picks:
                state["selected_option"] = _option(element, picks[block_id])
        elif kind in ("multi_static_select", "multi_external_select"):
            state["selected_options"] = element.get("initial_options", [])
            if block_id in picks:
                state["selected_options"] = [_option(element, n) for n in picks[block_id]]
        else:
            state["value"] = picks.get(block_id, element.get("initial_value"))
        values[block_id] = {element["action_id"]: state}
    return values


def _option(element: dict[str, Any], name: str | None) -> dict[str, Any] | None:
    if name is None:
        return None
    value = option_value(name)
    for option in element.get("options", []):
        if option["value"] == value:
            return dict(option)
    assert element["type"].endswith("external_select"), f"{name!r} is not offered"
    return {"text": {"type": "plain_text", "text": name[:75]}, "value": value}


def test_fresh_modal_for_one_application() -> None:
    view = build_request_modal(small_choices(), applications=[("crm", "CRM")]).to_dict()
    assert view["callback_id"] == CallbackId.REQUEST
    assert ModalRef.load(view["private_metadata"]) == ModalRef(application="crm")
    blocks = inputs(view)
    assert BlockId.APPLICATION not in blocks
    assert BlockId.PROFILE not in blocks
    assert any(b.get("block_id") == BlockId.PROFILE_HINT for b in view["blocks"])
    lic = blocks[BlockId.LICENSE]
    assert lic["dispatch_action"] is True
    assert [o["text"]["text"] for o in lic["element"]["options"]] == [
        "Salesforce — 4 of 10 seats free",
        "Salesforce Platform — no free seat (5 of 5 used)",
    ]
    assert blocks[BlockId.ROLE]["optional"] is True
    assert blocks[BlockId.PERMISSION_SETS]["element"]["type"] == "multi_static_select"
    duration = blocks[BlockId.DURATION]["element"]
    assert duration["initial_option"]["text"]["text"] == "30 days"
    assert [o["text"]["text"] for o in duration["options"]] == ["30 days", "90 days", "Permanent"]
    reason = blocks[BlockId.REASON]["element"]
    assert reason["multiline"] is True and reason["max_length"] == 2000


def test_application_select_only_with_several_applications() -> None:
    apps = [("crm", "CRM"), ("ops", "Operations")]
    view = build_request_modal(small_choices(), applications=apps).to_dict()
    select = inputs(view)[BlockId.APPLICATION]
    assert select["dispatch_action"] is True
    assert select["element"]["initial_option"]["value"] == "crm"


def test_profiles_follow_the_chosen_license_and_ids_stay_stable() -> None:
    choices = small_choices()
    first = build_request_modal(choices, selected=RequestDraft(license="Salesforce")).to_dict()
    second = build_request_modal(choices, selected=RequestDraft(license="Platform")).to_dict()
    first_profiles = inputs(first)[BlockId.PROFILE]["element"]["options"]
    assert [o["value"] for o in first_profiles] == ["Standard User", "Sales Rep"]
    second_profiles = inputs(second)[BlockId.PROFILE]["element"]["options"]
    assert [o["value"] for o in second_profiles] == ["Platform User"]
    ids = {(k, b["element"]["action_id"]) for k, b in inputs(first).items()}
    assert ids == {(k, b["element"]["action_id"]) for k, b in inputs(second).items()}


def test_role_required_when_the_policy_says_so() -> None:
    view = build_request_modal(small_choices(require_role=True)).to_dict()
    assert inputs(view)[BlockId.ROLE].get("optional") is not True


def test_on_behalf_of_is_shown_and_remembered_as_an_id() -> None:
    view = build_request_modal(small_choices(), on_behalf_of="U0SUBJECT").to_dict()
    assert "<@U0SUBJECT>" in json.dumps(view["blocks"])
    assert ModalRef.load(view["private_metadata"]).subject_id == "U0SUBJECT"
    with pytest.raises(ValueError, match="Slack user id"):
        build_request_modal(small_choices(), on_behalf_of="<!channel>")


def test_hundreds_of_options_become_external_selects() -> None:
    choices = big_choices()
    draft = RequestDraft(license="Salesforce", profile=f"{LONG}007", role="Role_42")
    view = build_request_modal(choices, selected=draft).to_dict()
    blocks = inputs(view)
    profile = blocks[BlockId.PROFILE]["element"]
    assert profile["type"] == "external_select" and profile["min_query_length"] == 0
    assert profile["initial_option"]["value"] == option_value(f"{LONG}007")
    assert blocks[BlockId.ROLE]["element"]["type"] == "external_select"
    assert blocks[BlockId.PERMISSION_SETS]["element"]["type"] == "multi_external_select"


def test_build_options_filters_case_insensitively_and_caps_at_100() -> None:
    choices = big_choices()
    roles = items_for_action(choices, ActionId.REQUEST_ROLE)
    assert len(build_options(roles, "")) == 100
    found = build_options(roles, "NUMBER 42")
    assert [o["text"]["text"] for o in found][:1] == ["Role number 42"]
    assert {o["value"] for o in found} == {"Role_42", *(f"Role_{i}" for i in range(420, 430))}
    assert build_options(roles, "zzz") == []
    profiles = items_for_action(choices, ActionId.REQUEST_PROFILE, license_name="Salesforce")
    options = build_options(profiles, "299", limit=5)
    assert len(options) == 1 and len(options[0]["text"]["text"]) <= 75
    assert options[0]["text"]["text"].endswith("299")
    assert items_for_action(choices, ActionId.REQUEST_PROFILE) == []


def test_round_trip_through_slack_state() -> None:
    choices = small_choices()
    draft = RequestDraft(
        application="crm",
        license="Salesforce",
        profile="Sales Rep",
        role="Sales_EMEA",
        permission_sets=("group:Support", "Reports"),
        duration=None,
        reason="Quarter close <!channel>",
    )
    view = build_request_modal(choices, selected=draft).to_dict()
    parsed = parse_request_state(slack_state(view), choices=choices)
    assert parsed == draft
    assert check_draft(parsed, choices) == {}


def test_round_trip_with_long_names_and_external_selects() -> None:
    choices = big_choices()
    draft = RequestDraft(
        application="crm",
        license="Salesforce",
        profile=f"{LONG}123",
        role="Role_499",
        permission_sets=(f"{'PS_' * 30}7", f"{'PS_' * 30}149"),
        duration=timedelta(days=90),
        reason="r",
    )
    view = build_request_modal(choices, selected=draft).to_dict()
    state = slack_state(view, {BlockId.PERMISSION_SETS: list(draft.permission_sets)})
    assert parse_request_state(state, choices=choices) == draft
    without_choices = parse_request_state(state)
    assert without_choices.profile is None and without_choices.role == "Role_499"


def test_user_picks_are_read_as_names() -> None:
    choices = small_choices()
    view = build_request_modal(choices, selected=RequestDraft(license="Salesforce")).to_dict()
    picks = {
        BlockId.PROFILE: "Standard User",
        BlockId.DURATION: "P90D",
        BlockId.PERMISSION_SETS: ["Reports"],
        BlockId.REASON: "  why  ",
    }
    draft = parse_request_state(slack_state(view, picks), choices=choices)
    assert (draft.license, draft.profile, draft.duration) == (
        "Salesforce",
        "Standard User",
        timedelta(days=90),
    )
    assert draft.permission_sets == ("Reports",) and draft.reason == "  why  "


def test_unset_inputs_read_as_missing_and_fail_the_check() -> None:
    choices = small_choices()
    view = build_request_modal(choices, selected=RequestDraft(license="Salesforce")).to_dict()
    picks = {
        BlockId.LICENSE: None,
        BlockId.PROFILE: None,
        BlockId.ROLE: None,
        BlockId.DURATION: None,
        BlockId.PERMISSION_SETS: [],
        BlockId.REASON: None,
    }
    draft = parse_request_state(slack_state(view, picks), choices=choices)
    assert draft == RequestDraft(application="crm", duration=UNSET_DURATION)
    assert set(check_draft(draft, choices)) == {"license", "profile", "duration", "reason"}


def test_values_the_choices_no_longer_offer_are_dropped() -> None:
    choices = small_choices()
    state = {
        BlockId.LICENSE: {ActionId.REQUEST_LICENSE: {"selected_option": {"value": "Salesforce"}}},
        BlockId.PROFILE: {
            ActionId.REQUEST_PROFILE: {"selected_option": {"value": "Platform User"}}
        },
        BlockId.ROLE: {ActionId.REQUEST_ROLE: {"selected_option": {"value": "Gone"}}},
        BlockId.DURATION: {ActionId.REQUEST_DURATION: {"selected_option": {"value": "P7D"}}},
    }
    draft = parse_request_state(state, choices=choices)
    assert (draft.license, draft.profile, draft.role) == ("Salesforce", None, None)
    assert draft.duration == timedelta(days=7)
    assert "duration" in check_draft(draft, choices)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=25), inner, max_size=4)
    ),
    max_leaves=25,
)
block_ids = st.sampled_from([*BlockId, "x"])
action_ids = st.sampled_from([*ActionId, "y"])
slackish = st.dictionaries(
    block_ids,
    st.dictionaries(
        action_ids,
        st.fixed_dictionaries(
            {},
            optional={
                "selected_option": json_values,
                "selected_options": json_values,
                "value": json_values,
            },
        )
        | json_values,
        max_size=3,
    )
    | json_values,
    max_size=8,
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(st.one_of(slackish, json_values))
def test_parser_survives_garbage(state: object) -> None:
    for choices in (None, small_choices()):
        draft = parse_request_state(state, choices=choices)
        assert isinstance(draft, RequestDraft)
        assert draft.duration is not None


def test_field_errors_target_the_form_blocks() -> None:
    errors = {"license": "Choose one.", "profile": "P", "duration": "D", "reason": "R", "x": "X"}
    assert field_errors_to_blocks(errors) == {
        BlockId.LICENSE: "Choose one.",
        BlockId.PROFILE: "P",
        BlockId.DURATION: "D",
        BlockId.REASON: "R X",
    }


def test_loading_and_unavailable_modals_validate() -> None:
    loading = build_loading_modal().to_dict()
    assert loading["callback_id"] == CallbackId.LOADING and "submit" not in loading
    unavailable = build_unavailable_modal("Salesforce <!here> is down " * 200).to_dict()
    assert "<!here>" not in json.dumps(unavailable)
    assert len(unavailable["blocks"][0]["text"]["text"]) <= 3000


def test_no_license_and_no_profile_cases_show_notes_not_empty_selects() -> None:
    empty = build_request_modal(small_choices(licenses=(), profiles=())).to_dict()
    assert BlockId.LICENSE not in inputs(empty)
    lonely = small_choices(profiles=(ProfileChoice(name="Standard User", license="Salesforce"),))
    view = build_request_modal(lonely, selected=RequestDraft(license="Platform")).to_dict()
    assert BlockId.PROFILE not in inputs(view)
    assert "Pick another license" in json.dumps(view["blocks"])


def test_policy_without_durations_leaves_the_duration_out() -> None:
    view = build_request_modal(small_choices(durations=())).to_dict()
    assert BlockId.DURATION not in inputs(view)


def test_options_handler_serves_applications_too() -> None:
    apps = [(f"app{i}", f"Application {i}") for i in range(120)]
    items = items_for_action(small_choices(), ActionId.REQUEST_APPLICATION, applications=apps)
    assert [o["value"] for o in build_options(items, "application 11")] == [
        "app11",
        *(f"app{i}" for i in range(110, 120)),
    ]

"""Reading modal state and private_metadata back without trusting them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.views.metadata import ModalRef
from handlers.views.state import selected_value, selected_values, text_value


def test_selects_and_text_as_slack_sends_them() -> None:
    state = {
        "b": {
            "one": {"type": "static_select", "selected_option": {"value": "x", "text": {}}},
            "many": {
                "type": "multi_static_select",
                "selected_options": [{"value": "a"}, {"value": "b"}, {"value": "a"}, "junk"],
            },
            "unset": {"type": "static_select", "selected_option": None},
            "text": {"type": "plain_text_input", "value": "hi"},
            "none": {"type": "plain_text_input", "value": None},
        }
    }
    assert selected_value(state, "b", "one") == "x"
    assert selected_values(state, "b", "many") == ("a", "b")
    assert selected_value(state, "b", "unset") is None
    assert text_value(state, "b", "text") == "hi"
    assert text_value(state, "b", "none") == ""
    assert selected_value(state, "missing", "one") is None
    assert (
        selected_value({"b": {"one": {"selected_option": {"value": "v" * 151}}}}, "b", "one")
        is None
    )


def test_modal_ref_round_trip_and_garbage() -> None:
    ref = ModalRef(application="crm", subject_id="U0ANN", request_id="req-1")
    assert ModalRef.load(ref.dump()) == ref
    assert ref.dump() == '{"application":"crm","subject_id":"U0ANN","request_id":"req-1"}'
    assert ModalRef.load('{"application": 5, "request_id": "r"}') == ModalRef(request_id="r")
    for garbage in (
        None,
        "",
        "not json",
        "[1, 2]",
        "x" * 4000,
        '{"application": "' + "a" * 500 + '"}',
    ):
        assert ModalRef.load(garbage) == ModalRef()


@given(st.text(max_size=400) | st.none() | st.integers())
def test_modal_ref_never_raises(raw: object) -> None:
    assert isinstance(ModalRef.load(raw), ModalRef)

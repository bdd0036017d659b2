"""The payload shape check: real payloads pass, malformed ones are named, nothing raises."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from handlers.envelope import UNREADABLE_TEXT, answer_for, envelope_problem, user_of

CLICK: dict[str, Any] = {
    "type": "block_actions",
    "user": {"id": "U0OMAR", "username": "omar"},
    "team": {"id": "T0DEMO", "domain": "acme"},
    "container": {"type": "message", "channel_id": "D0OMAR", "message_ts": "1.2"},
    "channel": {"id": "D0OMAR", "name": "directmessage"},
    "trigger_id": "123.456.abc",
    "response_url": "https://hooks.slack.com/actions/T/1/x",
    "actions": [{"action_id": "approve", "block_id": "b", "value": "R-ABCD2345"}],
}
COMMAND = {
    "command": "/salesforce",
    "user_id": "U0JANE",
    "text": "status",
    "channel_id": "D0JANE",
    "trigger_id": "1.2.3",
    "response_url": "https://hooks.slack.com/commands/T/1/x",
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def test_real_payloads_pass() -> None:
    assert envelope_problem(CLICK) is None
    assert envelope_problem(COMMAND) is None
    assert envelope_problem({"type": "url_verification", "challenge": "x"}) is None
    event = {"type": "event_callback", "event_id": "Ev1", "event": {"type": "user_change"}}
    event["event"]["user"] = {"id": "U0JANE", "deleted": True}  # type: ignore[index]
    assert envelope_problem(event) is None


def test_malformed_payloads_are_named_by_location_not_value() -> None:
    forged = {**CLICK, "actions": [{"action_id": 5, "value": "x" * 5000}]}
    problem = envelope_problem(forged)
    assert problem is not None and "actions.0.action_id" in problem and "xxxx" not in problem
    assert envelope_problem({**CLICK, "user": {"id": "' OR 1=1"}}) is not None
    assert envelope_problem({**CLICK, "response_urls": None}) is not None
    assert envelope_problem({**COMMAND, "response_url": "javascript:alert(1)"}) is not None
    assert envelope_problem([CLICK]) == "the payload is not an object"


def test_answers_show_the_text_where_slack_shows_one() -> None:
    assert answer_for(COMMAND, UNREADABLE_TEXT) == {
        "response_type": "ephemeral",
        "text": UNREADABLE_TEXT,
    }
    modal = answer_for({"type": "view_submission"}, "Nope")
    assert modal is not None and modal["response_action"] == "update"
    assert answer_for({"type": "block_suggestion"}, "Nope") == {"options": []}
    assert answer_for(CLICK, "Nope") is None  # a click's answer is never shown
    assert user_of(CLICK) == "U0OMAR" and user_of({"user": {"id": "<!channel>"}}) is None


@given(body=JSON, base=st.sampled_from([CLICK, COMMAND, {}]), key=st.text(max_size=12))
def test_the_check_never_raises(body: Any, base: dict[str, Any], key: str) -> None:
    for candidate in (body, {**base, key: body}):
        problem = envelope_problem(candidate)
        assert problem is None or isinstance(problem, str)
        answer_for(candidate, "x")
        user_of(candidate)

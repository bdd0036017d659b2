"""Malformed and hostile payloads, correctly signed, at every surface the app serves.

Never a 500, never an unhandled error, and whenever a request cannot be served the person
who sent it is told so in words.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sandbox.stage import ADA, BOB, JANE, MALLORY, OLIVIA, OMAR, PEOPLE, SIGNING_SECRET
from handlers.app import FAILURE_TEXT
from handlers.envelope import UNREADABLE_TEXT, user_of
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.steps import approval_message, open_request_form, submit_request
from tests.security.hostile import Context, Target, hostile_payload, hostile_text, targets
from tests.security.live import LiveStage, listeners_done

TARGETS = targets()
TOLD = (FAILURE_TEXT, UNREADABLE_TEXT)
# Records that mean something escaped the bot's own handling.
CRASHES = ("Error handling request", "Task exception", "background step failed")
TRIED: list[str] = []


class Records(logging.Handler):
    """Every log record since the last ``take``."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        taken, self.records = self.records, []
        return taken


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStage]:
    with LiveStage(tmp_path_factory.mktemp("hostile")) as running:
        yield running


@pytest.fixture(scope="module")
def context(live: LiveStage) -> Context:
    """A pending, an active and a needs-admin request, and an open request form."""
    stage = live.stage
    pending = live.run(submit_request(stage, JANE.id))
    active = live.run(submit_request(stage, BOB.id))
    message = live.run(approval_message(stage, OMAR.id, active.id))
    live.run(stage.workspace.click(OMAR.id, message, ActionId.APPROVE))
    live.run(stage.settle())
    stage.org.take_username_elsewhere(MALLORY.email)
    stuck = live.run(submit_request(stage, MALLORY.id))
    message = live.run(approval_message(stage, OMAR.id, stuck.id))
    live.run(stage.workspace.click(OMAR.id, message, ActionId.APPROVE))
    live.run(stage.settle())
    stored = [live.run(stage.runtime.deps.repo.get(r.id)) for r in (active, stuck)]
    assert [r.state if r else None for r in stored] == [State.ACTIVE, State.NEEDS_ADMIN]
    view_id = live.run(open_request_form(stage, JANE.id))
    modal = stage.slack.view(view_id)
    assert modal is not None
    return Context(
        users=tuple(p.id for p in PEOPLE),
        request_ids=(pending.id, active.id, stuck.id),
        modal=modal,
        dm_channel=stage.slack.dm_channel,
    )


@pytest.fixture(scope="module")
def records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _told(live: LiveStage, user: str, calls_before: int) -> bool:
    """Whether ``user`` got one of the failure texts since ``calls_before`` API calls."""
    for call in live.stage.slack.calls()[calls_before:]:
        text = str(call.args.get("text") or "")
        to = (call.args.get("channel"), call.args.get("user"))
        if (
            call.method in ("chat.postMessage", "chat.postEphemeral")
            and text in TOLD
            and user in to
        ):
            return True
    return False


def _send(
    live: LiveStage, records: Records, target: Target, payload: dict[str, Any]
) -> tuple[int, str, list[logging.LogRecord], int]:
    stage = live.stage
    records.take()
    before = len(stage.slack.calls())
    body, content_type = target.encode(payload)
    reply = live.run(stage.workspace.post_raw(body, content_type=content_type))
    live.run(listeners_done())
    live.run(stage.settle())
    TRIED.append(target.name)
    return reply.status, reply.body, records.take(), before


def _check(
    live: LiveStage,
    target: Target,
    payload: dict[str, Any],
    outcome: tuple[int, str, list[logging.LogRecord], int],
) -> None:
    status, body, logged, calls_before = outcome
    assert status == 200, (target.name, status, body[:200])
    crashes = [r.getMessage()[:200] for r in logged if r.getMessage().startswith(CRASHES)]
    assert not crashes, (target.name, crashes)
    assert not [r for r in logged if r.levelno >= logging.ERROR and r.name != "handlers.app"]
    failed = any(
        r.getMessage().startswith(("listener failed", "unreadable Slack payload")) for r in logged
    )
    if not failed:
        return
    # The request could not be served: the sender hears it in words, wherever Slack shows it.
    answer = json.loads(body) if body.strip() else {}
    kind = payload.get("type") if "command" not in payload else "command"
    if kind == "command":
        assert answer.get("text") in TOLD or _told(live, str(payload.get("user_id")), calls_before)
    elif kind == "view_submission":
        assert answer.get("response_action") == "update", answer
    elif kind == "block_suggestion":
        assert answer == {"options": []}
    elif kind == "block_actions":
        user = user_of(payload)
        if user is not None and live.stage.slack.user(user) is not None:
            assert _told(live, user, calls_before), (target.name, "nobody told", user)


def test_every_surface_answers_its_plain_payload(
    live: LiveStage, context: Context, records: Records
) -> None:
    """Each command form, action, view and event once, unmutated, from each kind of person."""
    for target in TARGETS:
        for user in (JANE.id, OMAR.id, ADA.id):
            payload = target.build(live.stage, context, user, context.request_ids[0])
            _check(live, target, payload, _send(live, records, target, payload))


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_hostile_payloads_never_crash_the_bot(
    live: LiveStage, context: Context, records: Records, data: st.DataObject
) -> None:
    target = data.draw(st.sampled_from(TARGETS), label="target")
    user = data.draw(st.sampled_from(context.users), label="user")
    value = data.draw(st.one_of(st.sampled_from(context.request_ids), hostile_text()))
    template = target.build(live.stage, context, user, value)
    payload, _changes = data.draw(hostile_payload(template), label="changes")
    _check(live, target, payload, _send(live, records, target, payload))


def test_the_bot_still_works_after_the_hostile_payloads(live: LiveStage) -> None:
    stage = live.stage
    request = live.run(submit_request(stage, OLIVIA.id, profile="Standard User", role=None))
    assert request.state is State.PENDING_APPROVAL
    print(f"\nhostile payloads sent: {len(TRIED)} to {len(set(TRIED))} surfaces")


def test_oversized_bodies_are_refused_without_a_500(live: LiveStage) -> None:
    huge = ("payload=" + "A" * (2 * 1024 * 1024)).encode()
    reply = live.run(
        live.stage.workspace.post_raw(huge, content_type="application/x-www-form-urlencoded")
    )
    assert reply.status == 413


def test_bodies_that_are_not_slack_payloads_get_no_500(live: LiveStage) -> None:
    form = "application/x-www-form-urlencoded"
    for body, content_type in (
        (b"", form),
        (b"payload=%7Bnot json", form),
        (b"payload=%5B%5D", form),
        (b"[1, 2, 3]", "application/json"),
        (b'{"type": "shortcut", "callback_id": 5}', "application/json"),
        (b'{"type": "event_callback", "event": "x"}', "application/json"),
        (b"team=%5B%5D&authorizations=1&enterprise=2", form),
    ):
        reply = live.run(live.stage.workspace.post_raw(body, content_type=content_type))
        assert reply.status == 200, (body, reply.status, reply.body)
    # Slack signs UTF-8 text; bytes that are not UTF-8 cannot be a Slack request at all.
    raw, stamp = b"payload=\xff\xfe", str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + raw, "sha256")
    reply = live.run(
        live.stage.workspace.post_raw(
            raw, content_type=form, timestamp=stamp, signature="v0=" + digest.hexdigest()
        )
    )
    assert reply.status == 400

"""Messages of the scheduled lifecycle: reminders, the admins' nudge, extension, digest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers.flows.lifecycle import Drift, DriftKind, DriftReport
from handlers.policy import Application
from handlers.views.lifecycle import (
    DIGEST_LINES_PER_KIND,
    build_drift_digest,
    build_extension_asked,
    build_reminder,
    build_undecided_escalation,
)
from handlers.views.message import MESSAGE_BLOCKS_MAX
from storage.audit import ChainHead
from storage.models import AccessRequest, Kind, State

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
APP = Application(
    name="crm",
    display_name="CRM <b>",
    owners=("U0OWNER1", "U0OWNER2"),
    admins=("U0ADMIN1",),
    licenses=("Salesforce",),
    profiles=("Standard User",),
)


def make_request(**overrides: Any) -> AccessRequest:
    fields: dict[str, Any] = {
        "id": "R-AAAA2222",
        "kind": Kind.GRANT,
        "application": "crm",
        "state": State.PENDING_APPROVAL,
        "requester_id": "U0ASKER",
        "subject_id": "U0ASKER",
        "duration": timedelta(days=7),
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return AccessRequest.model_validate(fields)


def test_a_reminder_counts_and_names_the_owners() -> None:
    reminder = build_reminder(make_request(), APP, number=2)
    assert reminder.text.startswith(":bell: 2nd reminder")
    assert "<@U0OWNER1> or <@U0OWNER2>" in reminder.text
    assert "<!date^" in reminder.text
    assert [b["type"] for b in reminder.blocks] == ["section"]
    assert "11th" in build_reminder(make_request(), APP, number=11).text


def test_the_admins_are_asked_to_nudge_with_the_facts() -> None:
    ask = build_undecided_escalation(make_request(reason="need it"), APP, reminders=3)
    body = json.dumps(ask.blocks)
    assert ask.blocks[0]["type"] == "header"
    assert "after 3 reminders" in body and "<@U0OWNER1>" in body
    assert "need it" in body and "R-AAAA2222" in body
    assert "actions" not in [b["type"] for b in ask.blocks]
    assert "after" not in json.dumps(
        build_undecided_escalation(make_request(), APP, reminders=0).blocks[1]
    )


def test_the_extension_answer_says_who_decides_and_for_how_long() -> None:
    asked = build_extension_asked(make_request(), APP, created=True)
    assert asked.text.startswith(":calendar: Asked <@U0OWNER1> or <@U0OWNER2>")
    assert "7 days more" in asked.text and "CRM &lt;b&gt;" in asked.text
    again = build_extension_asked(make_request(duration=timedelta(days=1)), APP, created=False)
    assert "Already asked" in again.text and "1 day more" in again.text


def drift(kind: DriftKind, n: int, **values: Any) -> Drift:
    return Drift(
        kind=kind, application="crm", user_id=f"005X{n}", username=f"u{n}@acme.com", **values
    )


def test_the_digest_lists_each_kind_and_what_was_done() -> None:
    report = DriftReport(
        application="crm",
        checked_users=12,
        drifts=(
            drift(DriftKind.ACTIVE_AGAIN, 1, grant_id="R-1", subject_id="U0JANE", fixed=True),
            drift(DriftKind.DEACTIVATED_BY_HAND, 2, grant_id="R-2"),
            drift(DriftKind.NOT_GRANTED, 3),
        ),
    )
    digest = build_drift_digest([report], {"crm": APP})
    assert digest is not None
    body = json.dumps(digest.blocks)
    assert "3 of 12 active users" in body and "1 corrected" in body
    for needle in ("Active again", "Deactivated by hand", "nobody granted", "u3@acme.com"):
        assert needle in body
    assert "deactivated again" in body and "<@U0JANE>" in body
    assert digest.text == "Reconciliation found 3 users to look at."


def test_no_drift_means_no_digest_and_long_lists_are_cut() -> None:
    assert build_drift_digest([DriftReport(application="crm", checked_users=5)], {}) is None
    many = tuple(drift(DriftKind.NOT_GRANTED, n) for n in range(DIGEST_LINES_PER_KIND + 7))
    digest = build_drift_digest(
        [DriftReport(application="crm", checked_users=99, drifts=many)], {"crm": APP}
    )
    assert digest is not None and len(digest.blocks) <= MESSAGE_BLOCKS_MAX
    assert "…and 7 more" in json.dumps(digest.blocks, ensure_ascii=False)


def test_the_digest_carries_the_audit_head_within_the_block_limit() -> None:
    head = ChainHead(rows=1234, hash="ab" * 32)
    many = tuple(drift(kind, n) for kind in DriftKind for n in range(DIGEST_LINES_PER_KIND + 3))
    reports = [DriftReport(application=f"app{n}", checked_users=99, drifts=many) for n in range(60)]
    digest = build_drift_digest(reports, {"crm": APP}, head)
    assert digest is not None and len(digest.blocks) <= MESSAGE_BLOCKS_MAX
    last = json.dumps(digest.blocks[-1])
    assert f"Audit log head: `1234:{'ab' * 32}` (1234 rows)" in last
    assert f"accessbot audit verify --head 1234:{'ab' * 32}" in last

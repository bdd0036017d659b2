"""The revocation answers and the offboarding summary, as people read them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from handlers.flows.offboard import OffboardedGrant, Offboarding
from handlers.flows.outcomes import (
    NeedsAdmin,
    RefusalReason,
    RevocationBlocked,
    RevokedAccess,
    Skipped,
    WillRetry,
)
from handlers.views.message import MESSAGE_BLOCKS_MAX
from handlers.views.revocation import (
    SUMMARY_LINES_MAX,
    build_cannot_revoke,
    build_offboarding_summary,
    build_retrying,
    build_revocation_started,
    build_salesforce_unavailable,
    build_still_active,
)
from storage.models import AccessRequest, Kind, State
from tests.handlers.fakes import ADMIN, JANE, OWNER, blocked, sales_app

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def request(**fields: object) -> AccessRequest:
    values: dict[str, object] = {
        "id": "R-TEST0001",
        "kind": Kind.REVOKE,
        "application": "sales",
        "state": State.REQUESTED,
        "requester_id": OWNER,
        "subject_id": JANE,
        "sf_user_id": "005JANE",
        "sf_username": "jane@acme.test",
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(fields)
    return AccessRequest.model_validate(values)


def shown(message: object) -> str:
    return json.dumps(message.model_dump())  # type: ignore[attr-defined]


def test_cannot_revoke_says_why_and_who_may() -> None:
    app = sales_app()
    nothing = build_cannot_revoke(RefusalReason.NOT_FOUND, subject_id=JANE, actor_id=JANE)
    assert nothing.text.startswith("You hold no Salesforce access")
    someone = build_cannot_revoke(RefusalReason.NOT_FOUND, subject_id=JANE, actor_id=OWNER)
    assert someone.text.startswith(f"<@{JANE}> holds no")
    denied = build_cannot_revoke(
        RefusalReason.NOT_ALLOWED, subject_id=JANE, actor_id="U0BOB001", app=app
    )
    assert f"<@{OWNER}>" in denied.text and f"<@{ADMIN}>" in denied.text
    assert "*Sales Cloud*" in denied.text
    done = build_cannot_revoke(RefusalReason.NOTHING_TO_DO, subject_id=JANE, actor_id=JANE)
    assert "already removed" in done.text


def test_revocation_started_fits_the_state() -> None:
    app = sales_app()
    now = build_revocation_started(request(), app, actor_id=OWNER)
    assert f"Removing <@{JANE}>'s *Sales Cloud* access now" in now.text
    mine = build_revocation_started(request(requester_id=JANE), app, actor_id=JANE)
    assert "Removing your *Sales Cloud* access" in mine.text
    waiting = build_revocation_started(request(state=State.BLOCKED), app, actor_id=JANE)
    assert "waiting for an admin" in waiting.text and f"<@{ADMIN}>" in waiting.text
    cancelled = build_revocation_started(
        request(kind=Kind.GRANT, state=State.CANCELLED), app, actor_id=JANE
    )
    assert cancelled.text.startswith(":heavy_multiplication_x: Cancelled")


def test_short_answers_escape_what_salesforce_and_people_typed() -> None:
    still = build_still_active(request(), username="*jane*@acme.test")
    assert "`*jane*@acme.test`" in still.text and "Retry deactivation" in still.text
    down = build_salesforce_unavailable("Salesforce said <!channel> <https://evil|x>")
    assert "<!channel>" not in shown(down) and "<https://evil" not in shown(down)
    assert "deactivation" in build_retrying(request()).text
    assert "set-up" in build_retrying(request(kind=Kind.GRANT)).text


def _report(count: int = 1) -> Offboarding:
    rev = request(requester_id="bot")
    items = [
        OffboardedGrant(
            revocation=rev,
            outcome=RevokedAccess(
                revocation=rev.model_copy(update={"state": State.DONE}), grant=None
            ),
        ),
        OffboardedGrant(
            revocation=rev,
            outcome=RevocationBlocked(revocation=rev, grant=None, blocked=blocked("005JANE")),
        ),
        OffboardedGrant(
            revocation=rev, outcome=WillRetry(request=rev, attempt=1, at=NOW, human="503")
        ),
        OffboardedGrant(
            revocation=rev,
            outcome=NeedsAdmin(
                request=rev, problem="insufficient_access", human="<b>no</b> right", fix=""
            ),
        ),
        OffboardedGrant(revocation=rev, outcome=Skipped(request_id=rev.id, why="already blocked")),
    ]
    cancelled = request(id="R-PENDING1", kind=Kind.GRANT, state=State.CANCELLED)
    return Offboarding(subject_id=JANE, revoked=tuple(items * count), cancelled=(cancelled,))


def test_offboarding_summary_has_one_line_per_grant() -> None:
    summary = build_offboarding_summary(
        _report(), title_of=lambda r: "Sales Cloud", subject_name="Jane <!everyone> Doe"
    )
    text = shown(summary)
    for words in (
        "deactivated.",
        "blocked the deactivation",
        "the user is frozen",
        "trying again on <!date^",
        "&lt;b&gt;no&lt;/b&gt; right",
        "already being removed",
        "`R-PENDING1` cancelled",
    ):
        assert words in text, words
    assert "<!everyone>" not in text
    assert summary.text.startswith(f"<@{JANE}> left Slack: 5 access removal(s), 1 pending")


def test_a_long_offboarding_summary_stays_within_slack_limits() -> None:
    summary = build_offboarding_summary(_report(count=20), title_of=lambda r: "x" * 500)
    assert len(summary.blocks) <= MESSAGE_BLOCKS_MAX
    assert f"and {100 + 1 - SUMMARY_LINES_MAX} more" in shown(summary)

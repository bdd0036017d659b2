"""Access integrity over signed HTTP, when what a request grants changes under it.

An extension that waits for approval ends with the grant it extends (revoked or expired): it
is cancelled at once, its requester hears why, and approving it afterwards changes nothing.
An admin who changes an approved request after a failure sends it back to the owners when
the change gives more or other access than they approved; nobody acts as admin on their own
request.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import JANE, OMAR, Stage
from handlers.ids import ActionId
from storage.models import AccessRequest, Kind, State
from tests.e2e.lifecycle_steps import ShiftedClock, grant_access, start, tick
from tests.e2e.steps import approval_message, current, dm_texts
from tests.e2e.test_access_integrity import in_state, owner_revokes, until
from tests.e2e.test_escalation import buttons
from tests.e2e.test_home import open_home


async def extension_asked(
    stage: Stage, grant: AccessRequest
) -> tuple[AccessRequest, PostedMessage]:
    """Jane presses Extend on her Home tab; the extension and Omar's approval message."""
    home = await open_home(stage, JANE.id)
    reply = await stage.workspace.press(JANE.id, home["id"], ActionId.EXTEND, value=grant.id)
    assert reply.status == 200

    async def asked() -> list[AccessRequest]:
        return await stage.runtime.deps.repo.find(grant_id=grant.id, kind=Kind.GRANT)

    (extension,) = await until(asked)
    assert extension.state is State.PENDING_APPROVAL
    return extension, await approval_message(stage, OMAR.id, extension.id)


def writes_since(stage: Stage, mark: int) -> list[object]:
    """What changed the org after ``mark``: writes, alone or inside a composite call."""
    found: list[object] = []
    for call in stage.org.calls[mark:]:
        parts = call.json.get("compositeRequest") if isinstance(call.json, dict) else None
        if parts is not None:
            found += [p for p in parts if p.get("method") != "GET"]
        elif call.method != "GET" and "/oauth2/" not in call.path:
            found.append(call)
    return found


async def approve_stale(stage: Stage, ask: PostedMessage) -> str:
    """Omar clicks Approve on the approval message as he last saw it; what he is told."""
    before = len(stage.slack.responses(OMAR.id))
    reply = await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    assert reply.status == 200
    answers = await stage.slack.wait_for(lambda: stage.slack.responses(OMAR.id)[before:] or None)
    await stage.settle()
    return answers[-1].text


async def assert_extension_ended_with_the_grant(
    stage: Stage, grant: AccessRequest, extension: AccessRequest, ask: PostedMessage, why: str
) -> None:
    """Cancelled in the revocation's transaction, the requester told, the message updated."""
    cancelled = await in_state(stage, extension.id, State.CANCELLED)
    assert cancelled.state is State.CANCELLED
    trail = await stage.runtime.deps.repo.audit.for_request(extension.id)
    assert trail[-1].action == "extension_cancelled" and trail[-1].actor != JANE.id
    told = await stage.slack.wait_for(
        lambda: [t for t in dm_texts(stage, JANE.id) if "extend" in t and "cancelled" in t]
    )
    assert why in told[-1], told[-1]
    shown = await stage.slack.wait_for(
        lambda: current(stage, ask) if not buttons(current(stage, ask)) else None
    )
    assert "Cancelled" in json.dumps(shown.blocks)


async def test_an_extension_approved_after_a_revocation_brings_nothing_back(
    stage: Stage,
) -> None:
    grant = await grant_access(stage, JANE, duration="1")
    user_id = grant.sf_user_id or ""
    extension, ask = await extension_asked(stage, grant)

    await owner_revokes(stage, OMAR.id, JANE.id, "She moved to support")
    await in_state(stage, grant.id, State.REVOKED)
    await stage.settle()
    user = stage.org.user(user_id)
    assert user is not None and not user.is_active
    await assert_extension_ended_with_the_grant(stage, grant, extension, ask, "revoked")

    mark = len(stage.org.calls)
    said = await approve_stale(stage, ask)
    assert "revoked" in said or "cancelled" in said, said
    assert writes_since(stage, mark) == []
    user = stage.org.user(user_id)
    assert user is not None and not user.is_active
    stored = await stage.runtime.deps.repo.get(grant.id)
    assert stored is not None and stored.state is State.REVOKED
    ended = await stage.runtime.deps.repo.get(extension.id)
    assert ended is not None and ended.state is State.CANCELLED and ended.decided_by is None
    assert not [t for t in dm_texts(stage, JANE.id) if "is ready" in t][1:]


async def test_an_undecided_extension_ends_when_the_grant_expires(tmp_path: Path) -> None:
    clock = ShiftedClock()
    stage = await start(tmp_path, clock)
    try:
        grant = await grant_access(stage, JANE, duration="1")
        user_id = grant.sf_user_id or ""
        extension, ask = await extension_asked(stage, grant)

        clock.advance(timedelta(days=1, minutes=1))
        await tick(stage)
        await in_state(stage, grant.id, State.REVOKED)
        user = stage.org.user(user_id)
        assert user is not None and not user.is_active
        await assert_extension_ended_with_the_grant(stage, grant, extension, ask, "ended")

        mark = len(stage.org.calls)
        said = await approve_stale(stage, ask)
        assert "ended" in said or "cancelled" in said, said
        await tick(stage)
        assert writes_since(stage, mark) == []
        user = stage.org.user(user_id)
        assert user is not None and not user.is_active
        ended = await stage.runtime.deps.repo.get(extension.id)
        assert ended is not None and ended.state is State.CANCELLED
    finally:
        await stage.close()

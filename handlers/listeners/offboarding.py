"""A member deactivated in Slack (``user_change`` with ``deleted: true``) loses every grant.

The departure is recorded before the event counts as handled (``recorders``, run by
``handlers.event_retries.RunEventsOnce`` ahead of the acknowledgement): if recording fails,
Slack gets a 500 and its redelivery records it. The listener then queues what was recorded.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from handlers.deps import Deps
from handlers.event_retries import EventRecorder
from handlers.flows.offboard import Departure, record_departure

MEMBER_EVENTS = ("user_change",)  # the manifest subscribes to these
_DEPARTURE = "departure"  # where the recorder leaves the Departure for the listener


class DepartedMember(BaseModel):
    """The member a deactivation event is about."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str = ""


def departed_member(event: object) -> DepartedMember | None:
    """The deactivated member a ``user_change`` event is about; None for any other."""
    user = event.get("user") if isinstance(event, dict) else None
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return None
    if user.get("deleted") is not True:
        return None
    profile = user.get("profile")
    name = profile.get("real_name") if isinstance(profile, dict) else None
    return DepartedMember(id=str(user["id"])[:100], name=name if isinstance(name, str) else "")


def recorders(deps: Deps) -> dict[str, EventRecorder]:
    """What records a departure before its event is marked handled, by event type."""

    async def record(req: AsyncBoltRequest) -> None:
        member = departed_member(req.body.get("event"))
        if member is None:
            return
        req.context[_DEPARTURE] = await record_departure(
            deps.repo, subject_id=member.id, worker=deps.config.worker_id, lease=deps.config.lease
        )

    return dict.fromkeys(MEMBER_EVENTS, record)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to ``user_change`` (Bolt acknowledges events by itself)."""

    async def on_member_event(event: dict[str, Any], context: dict[str, Any]) -> None:
        user = event.get("user")
        if isinstance(user, dict) and isinstance(user.get("id"), str):
            deps.people.forget(str(user["id"])[:100])
        member = departed_member(event)
        departure = context.get(_DEPARTURE)
        if member is None or not isinstance(departure, Departure):
            return
        await deps.worker.departed(departure, subject_name=member.name)

    for kind in MEMBER_EVENTS:
        app.event(kind)(on_member_event)

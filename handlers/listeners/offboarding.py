"""A member deactivated in Slack (``user_change`` with ``deleted: true``) loses every grant."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers.deps import Deps
from handlers.flows.offboard import record_departure


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen to ``user_change`` (Bolt acknowledges events by itself)."""

    async def on_user_change(body: dict[str, Any], event: dict[str, Any]) -> None:
        user = event.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return
        user_id = str(user["id"])[:100]
        deps.people.forget(user_id)
        if user.get("deleted") is not True:
            return
        # Slack retries a slow delivery with the same event_id; the key says who consumed it.
        event_id = body.get("event_id")
        if isinstance(event_id, str) and not await deps.events.first_time(f"offboard:{event_id}"):
            return
        # Recorded before anything else: from here on a crash loses nothing.
        departure = await record_departure(
            deps.repo, subject_id=user_id, worker=deps.config.worker_id, lease=deps.config.lease
        )
        profile = user.get("profile")
        name = profile.get("real_name") if isinstance(profile, dict) else None
        await deps.worker.departed(departure, subject_name=name if isinstance(name, str) else "")

    app.event("user_change")(on_user_change)

"""The Bolt app: every listener module registered on one AsyncApp."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.listener.async_listener_start_handler import AsyncListenerStartHandler
from slack_bolt.logger import get_bolt_logger
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from handlers.deps import Deps
from handlers.envelope import EnvelopeCheck, answer_for
from handlers.event_retries import RunEventsOnce
from handlers.listeners import (
    approvals,
    break_glass,
    catalog_admin,
    cohorts,
    commands,
    escalations,
    extend,
    home,
    offboarding,
    request_modal,
    review,
    revoke,
    transfer,
)
from handlers.worker import Worker

log = logging.getLogger(__name__)

FAILURE_TEXT = (
    "Sorry, something went wrong on my side and nothing was changed. "
    "Please try again; if it keeps failing, tell your Salesforce admin."
)
STALE_TEXT = "That is no longer something I can do; nothing was changed. Try `{command} help`."


class _ClientBuiltFromTheToken(logging.Filter):
    """Bolt warns on every start that SLACK_BOT_TOKEN goes unused when it is given a client
    (it reads the variable itself); the client is built from that very token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _quiet_token_warning() -> None:
    bolt_log = get_bolt_logger(AsyncApp)
    if not any(isinstance(f, _ClientBuiltFromTheToken) for f in bolt_log.filters):
        bolt_log.addFilter(_ClientBuiltFromTheToken())


class _TrackListenerTask(AsyncListenerStartHandler):
    """Hands the task a listener runs in to the worker, which drains it with its own work."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        """Called by Bolt first thing in the listener's task, before the ack."""
        self._worker.track_current()


def build_app(deps: Deps, *, signing_secret: str | None, socket_mode: bool = False) -> AsyncApp:
    """An AsyncApp with signature checks (HTTP mode) and every listener registered."""
    _quiet_token_warning()
    app = AsyncApp(
        client=deps.client,
        signing_secret=signing_secret or "",
        request_verification_enabled=not socket_mode,
        ignoring_self_events_enabled=True,
        # Requests no listener matches go to on_error (answered 200), not to Bolt's bare 404.
        raise_error_for_unhandled_request=True,
        name="accessbot",
    )
    # Each listener runs on after its ack in a task Bolt starts; the worker counts it as
    # background work so that shutdown (and a test's settle) waits for it.
    app.listener_runner.listener_start_handler = _TrackListenerTask(deps.worker)
    # Malformed payloads stop here, before any matcher or listener indexes into them.
    app.use(EnvelopeCheck(deps.client))
    app.use(RunEventsOnce(deps.events, offboarding.recorders(deps)))
    # escalations before request_modal: Bolt runs the first listener that matches, and the
    # complete-request modal reuses the request form's action ids (told apart by callback_id).
    for module in (
        commands,
        escalations,
        request_modal,
        approvals,
        cohorts,
        revoke,
        offboarding,
        home,
        catalog_admin,
        extend,
        break_glass,
        transfer,
        review,
    ):
        module.register(app, deps)

    async def on_error(
        error: Exception, body: dict[str, Any], response: BoltResponse | None
    ) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            # A URL button (Open Salesforce), a stale message or an event nobody listens to.
            log.debug("no listener for a %s request", body.get("type") or "command")
            answer = (
                None
                if body.get("type") == "block_actions"
                else answer_for(body, STALE_TEXT.format(command=deps.config.command))
            )
            return BoltResponse(status=200, body=answer or "")
        actor = _actor(body)
        log.error(
            "listener failed: %s",
            type(error).__name__,
            exc_info=error,
            extra={"actor": actor} if actor else None,
        )
        if response is not None and body.get("type") == "event_callback":
            # Not acknowledged and not marked handled: Slack's redelivery runs it again.
            return BoltResponse(status=500, body="")
        if response is None:  # already acknowledged: only a message can reach the user now
            await _tell_user_of_failure(deps, body)
            return None
        answer = answer_for(body, FAILURE_TEXT)
        if answer is None:
            await _tell_user_of_failure(deps, body)
        return BoltResponse(status=200, body=answer or "")

    app.error(on_error)
    return app


def _actor(body: dict[str, Any]) -> str | None:
    """The Slack member who clicked or typed, when the payload says so."""
    user = body.get("user_id")
    if not isinstance(user, str):
        nested = body.get("user")
        user = nested.get("id") if isinstance(nested, dict) else None
    return user if isinstance(user, str) and user else None


async def _tell_user_of_failure(deps: Deps, body: dict[str, Any]) -> None:
    """Best effort: the person who clicked or typed hears that it failed."""
    user = _actor(body)
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    if user is None:
        return
    try:
        if isinstance(channel, str):
            await deps.client.chat_postEphemeral(channel=channel, user=user, text=FAILURE_TEXT)
        else:
            await deps.client.chat_postMessage(channel=user, text=FAILURE_TEXT)
    except Exception:  # the failure is already logged; this is only a courtesy
        log.warning("could not tell %s about the failure", user)

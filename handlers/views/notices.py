"""DMs to the requester and the subject about their request, and thread-reply lines."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    SectionBlock,
)

from handlers.flows.auto_approve import POLICY_ACTOR
from handlers.ids import ActionId, BlockId
from handlers.policy import Application
from handlers.views.facts import id_context
from handlers.views.help import COMMAND
from handlers.views.message import SlackMessage, message
from handlers.views.problems import PLAIN_WORDS, EscalationKind
from handlers.views.text import (
    SECTION_TEXT_MAX,
    clip,
    code,
    mention,
    mentions,
    quote,
    safe,
    slack_date,
)
from storage.models import AccessRequest


def ask_again(command: str) -> str:
    """How to ask again, with the slash command as this workspace named it."""
    return f"You can ask again with `{command} request`."


_LOGIN_URL = re.compile(r"^https://[^\s<>|]+$")


def _access(req: AccessRequest, app: Application, *, start: bool = False) -> str:
    """``your *CRM* access`` or ``<@S>'s *CRM* access``, as the subject and requester read it."""
    title = safe(app.title, 200)
    if req.subject_id == req.requester_id:
        return f"{'Your' if start else 'your'} *{title}* access"
    return f"{mention(req.subject_id)}'s *{title}* access (asked by {mention(req.requester_id)})"


def _request(req: AccessRequest, app: Application, *, start: bool = True) -> str:
    return f"{'The' if start else 'the'} request for {_access(req, app)}"


def _notice(text: str, req: AccessRequest, *extra: Block) -> SlackMessage:
    blocks: list[Block] = [SectionBlock(text=clip(text, SECTION_TEXT_MAX)), *extra, id_context(req)]
    return message(text, blocks)


def build_waiting_for_owners(req: AccessRequest, app: Application) -> SlackMessage:
    """The request is stored and waits for an owner."""
    text = (
        f":hourglass_flowing_sand: {_request(req, app)} is waiting for "
        f"{mentions(app.owners)} to approve it. You'll hear back here."
    )
    return _notice(text, req)


def build_approved_setting_up(req: AccessRequest, app: Application) -> SlackMessage:
    """Approved; the Salesforce user is being set up."""
    by = f" by {mention(req.decided_by)}" if req.decided_by else ""
    if req.decided_by == POLICY_ACTOR:
        by = " automatically (low-risk access)"
    text = (
        f":white_check_mark: {_request(req, app)} was approved{by}. "
        "Setting up the Salesforce user now; you'll get a message when it's ready."
    )
    return _notice(text, req)


def build_provisioned(
    req: AccessRequest, app: Application, *, username: str, login_url: str | None = None
) -> SlackMessage:
    """The user is ready: username, end date, and a button to the login page."""
    ends = f"It ends on {slack_date(req.expires_at)}." if req.expires_at else "It does not expire."
    text = (
        f":tada: {_access(req, app, start=True)} is ready.\n"
        f"Salesforce username: {code(username, 120)}\n{ends}"
    )
    extra: list[Block] = []
    if login_url and len(login_url) <= 3000 and _LOGIN_URL.match(login_url):
        extra.append(
            ActionsBlock(
                block_id=BlockId.LOGIN_ACTIONS,
                elements=[
                    ButtonElement(
                        text="Open Salesforce",
                        action_id=ActionId.OPEN_LOGIN,
                        url=login_url,
                        value=req.id,
                        style="primary",
                    )
                ],
            )
        )
    return _notice(text, req, *extra)


def build_denied(req: AccessRequest, app: Application, *, command: str = COMMAND) -> SlackMessage:
    """Denied, with the owner's reason."""
    by = f" by {mention(req.decided_by)}" if req.decided_by else ""
    text = f":no_entry: {_request(req, app)} was denied{by}."
    note = (req.decision_note or "").strip()
    if note:
        text += "\n*Reason*\n" + quote(note, SECTION_TEXT_MAX - len(text) - 80)
    return _notice(f"{text}\n{ask_again(command)}", req)


def build_admin_on_it(
    req: AccessRequest, app: Application, *, kind: EscalationKind | None = None
) -> SlackMessage:
    """A person has to step in: who handles it now, in plain words."""
    why = PLAIN_WORDS[kind] if kind else "it needs a hand from a person"
    text = (
        f":construction: {_request(req, app)} is taking a little longer: {why}. "
        f"{mentions(app.admins)} will sort it out, and you'll hear back here."
    )
    return _notice(text, req)


def build_revoked(
    req: AccessRequest,
    app: Application,
    *,
    by: str | None = None,
    reason: str = "",
    effect: str = "",
) -> SlackMessage:
    """The access was removed, and what that did to the Salesforce user."""
    who = f" by {mention(by)}" if by else ""
    text = f":lock: {_access(req, app, start=True)} was removed{who}."
    if effect:
        text += f"\n{effect}"
    if reason.strip():
        text += "\n*Reason*\n" + quote(reason, SECTION_TEXT_MAX - len(text) - 80)
    return _notice(text, req)


def build_handing_over(
    req: AccessRequest, app: Application, *, by: str | None = None, reason: str = ""
) -> SlackMessage:
    """The revocation waits for the policy's hand-over of the user's records: frozen till then."""
    who = f" by {mention(by)}" if by else ""
    text = (
        f":snowflake: {_access(req, app, start=True)} is being removed{who}. The Salesforce "
        "user is frozen (it cannot log in) and will be deactivated once its records are "
        "handed over. This message changes to say when it is done."
    )
    if reason.strip():
        text += "\n*Reason*\n" + quote(reason, SECTION_TEXT_MAX - len(text) - 80)
    return _notice(text, req)


def build_request_expired(
    req: AccessRequest, app: Application, *, command: str = COMMAND
) -> SlackMessage:
    """Nobody decided in time."""
    text = (
        f":hourglass: Nobody decided on {_request(req, app, start=False)} in time, so it expired."
    )
    return _notice(f"{text} {ask_again(command)}", req)


def build_expiring_soon(
    req: AccessRequest,
    app: Application,
    *,
    effect: str = "The Salesforce user is deactivated.",
) -> SlackMessage:
    """The access ends soon: Extend, or Revoke now (with a confirm); ``effect`` says what ends."""
    when = slack_date(req.expires_at) if req.expires_at else "soon"
    text = f":alarm_clock: {_access(req, app, start=True)} ends on {when}. Then: {effect}"
    revoke_confirm = ConfirmObject(
        title="Remove the access now?",
        text=f"Right away: {effect}",
        confirm="Revoke now",
        deny="Keep it",
        style="danger",
    )
    buttons = ActionsBlock(
        block_id=BlockId.EXPIRY_ACTIONS,
        elements=[
            ButtonElement(text="Extend", action_id=ActionId.EXTEND, value=req.id, style="primary"),
            ButtonElement(
                text="Revoke now",
                action_id=ActionId.REVOKE_NOW,
                value=req.id,
                style="danger",
                confirm=revoke_confirm,
            ),
        ],
    )
    return _notice(text, req, buttons)


class ThreadEvent(StrEnum):
    """A later step worth one line in the thread of the request's first message."""

    REMINDED = "reminded"
    ESCALATED = "escalated"
    APPROVED = "approved"
    DENIED = "denied"
    PROVISIONED = "provisioned"
    RETRYING = "retrying"
    NEEDS_ADMIN = "needs_admin"
    EXTENDED = "extended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    RESOLVED = "resolved"
    SUPERSEDED = "superseded"


def build_thread_reply(
    event: ThreadEvent,
    req: AccessRequest,
    app: Application,
    *,
    actor: str | None = None,
    detail: str = "",
    at: datetime | None = None,
) -> SlackMessage:
    """One line for the thread; ``detail`` is plain words (escaped), ``at`` a date to show."""
    by = f" by {mention(actor)}" if actor else ""
    when = slack_date(at) if at else ""
    admins = mentions(app.admins, conjunction="and")
    lines = {
        ThreadEvent.REMINDED: f":bell: Reminded {mentions(app.owners)}.",
        ThreadEvent.ESCALATED: f":rotating_light: Nobody decided yet; told {admins}.",
        ThreadEvent.APPROVED: f":white_check_mark: Approved{by}.",
        ThreadEvent.DENIED: f":no_entry: Denied{by}.",
        ThreadEvent.PROVISIONED: ":tada: The Salesforce user "
        + (code(req.sf_username, 120) + " " if req.sf_username else "")
        + "is ready.",
        ThreadEvent.RETRYING: ":repeat: Salesforce did not answer; trying again"
        + (f" on {when}." if when else " shortly."),
        ThreadEvent.NEEDS_ADMIN: f":construction: Handed to {admins}.",
        ThreadEvent.EXTENDED: f":calendar: Extended{by}" + (f" until {when}." if when else "."),
        ThreadEvent.REVOKED: f":lock: Access removed{by}.",
        ThreadEvent.EXPIRED: ":hourglass: Nobody decided in time; the request expired.",
        ThreadEvent.CANCELLED: f":heavy_multiplication_x: Cancelled{by}.",
        ThreadEvent.RESOLVED: f":white_check_mark: Resolved{by}.",
        ThreadEvent.SUPERSEDED: ":twisted_rightwards_arrows: "
        + (f"Its profile {code(req.profile, 120)}" if req.profile else "Its profile")
        + " and role no longer apply while a newer grant's do.",
    }
    text = lines[event]
    if detail.strip():
        text += " " + safe(" ".join(detail.split()), 1000)
    return message(text, [SectionBlock(text=clip(text, SECTION_TEXT_MAX))])

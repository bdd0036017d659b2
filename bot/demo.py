"""``accessbot demo``: the whole story on simulated Slack and Salesforce, as each person sees it."""

from __future__ import annotations

import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from bot.logs import configure_logging
from bot.sandbox.render import render_blocks, render_view
from bot.sandbox.slack_records import PostedMessage
from bot.sandbox.stage import BOB, JANE, OLIVIA, OMAR, Stage, demo_policy, start_stage
from handlers.ids import ActionId, CallbackId
from handlers.policy import Policy
from storage.models import AccessRequest

WIDTH = 78


class Transcript:
    """Prints what one person sees, framed and indented, in the order it happens."""

    def __init__(self, stage: Stage) -> None:
        self._stage = stage
        self._started = time.monotonic()

    def step(self, text: str) -> None:
        """A narrator's line: what happens next."""
        print(f"\n=== {text}")

    def sees(self, who: str, what: str, body: str) -> None:
        """``who`` sees ``body`` (a message or a modal)."""
        print(f"\n--- {self._name(who)} sees {what}:")
        for line in body.rstrip().splitlines():
            print(textwrap.indent(line, "  | ") if line else "  |")

    def message(self, who: str, what: str, message: PostedMessage) -> None:
        """Render a Slack message for ``who``."""
        self.sees(who, what, render_blocks(message.blocks, message.text, names=self._lookup))

    def view(self, who: str, view: dict[str, Any]) -> None:
        """Render a modal for ``who``."""
        self.sees(who, "a modal", render_view(view, names=self._lookup))

    def note(self, text: str) -> None:
        """A fact from behind the scenes (Salesforce, the database)."""
        print(f"    ({text})")

    def _lookup(self, user_id: str) -> str | None:
        return self._stage.slack.name_of(user_id)

    def _name(self, user_id: str) -> str:
        return self._stage.slack.name_of(user_id) or user_id

    @property
    def seconds(self) -> float:
        """Time since the transcript started."""
        return time.monotonic() - self._started


async def _latest_dm(stage: Stage, user_id: str, contains: str) -> PostedMessage:
    def find() -> PostedMessage | None:
        found = [m for m in stage.slack.dms(user_id) if contains in m.text and not m.is_reply]
        return found[-1] if found else None

    return await stage.slack.wait_for(find, timeout=10)


async def _request(
    stage: Stage,
    out: Transcript,
    who: str,
    *,
    profile: str,
    role: str,
    sets: list[str],
    duration: str,
    reason: str,
) -> AccessRequest:
    ws = stage.workspace
    out.step(f"{out._name(who)} types /salesforce")
    await ws.slash(who)
    view = await stage.slack.wait_for(
        lambda: (
            (v := stage.slack.open_view(who)) and v.get("callback_id") == CallbackId.REQUEST and v
        )
    )
    out.view(who, view)
    out.step(f"{out._name(who)} picks the Salesforce license; the profiles refill")
    old_hash = view["hash"]
    await ws.pick(who, view["id"], ActionId.REQUEST_LICENSE, "Salesforce")
    view = await stage.slack.wait_for(
        lambda: (v := stage.slack.view(view["id"])) and v["hash"] != old_hash and v
    )
    await ws.choose(who, view["id"], ActionId.REQUEST_PROFILE, profile)
    await ws.choose(who, view["id"], ActionId.REQUEST_ROLE, role)
    await ws.choose(who, view["id"], ActionId.REQUEST_PERMISSION_SETS, sets)
    await ws.choose(who, view["id"], ActionId.REQUEST_DURATION, duration)
    await ws.type(who, view["id"], ActionId.REQUEST_REASON, reason)
    out.view(who, stage.slack.view(view["id"]) or view)
    out.step(f"{out._name(who)} submits")
    await ws.submit(who, view["id"])
    stored = await stage.runtime.deps.repo.find(subject_id=who)
    out.note(f"request {stored[0].id} stored as {stored[0].state.value}")
    return stored[0]


async def play(stage: Stage) -> None:
    """Request, approve, provision; a request that is denied; one that two owners approve."""
    out = Transcript(stage)
    ws = stage.workspace
    request = await _request(
        stage,
        out,
        JANE.id,
        profile="Sales User",
        role="SalesRep",
        sets=["Sales_Ops"],
        duration="P30D",
        reason="I take over the EMEA pipeline reviews",
    )
    ask = await _latest_dm(stage, OMAR.id, "Approve")
    out.message(OMAR.id, "a DM (Olivia got the same)", ask)
    out.message(JANE.id, "a DM", await _latest_dm(stage, JANE.id, "waiting"))

    out.step("Omar clicks Approve")
    calls_before = stage.org.api_calls
    await ws.click(OMAR.id, ask, ActionId.APPROVE)
    ready = await _latest_dm(stage, JANE.id, "is ready")
    await stage.settle()
    decided = next(m for m in stage.slack.messages(ask.channel) if m.ts == ask.ts)
    out.message(OMAR.id, "the approval message, updated in place", decided)
    out.message(JANE.id, "a DM", ready)
    user = stage.org.user_by_username("jane.doe@acme.com")
    if user is not None:
        out.note(
            f"Salesforce: user {user.username} ({user.id}) active={user.is_active}, "
            f"{stage.org.api_calls - calls_before} API call(s) for the grant"
        )

    denied_request = await _request(
        stage,
        out,
        BOB.id,
        profile="Standard User",
        role="SalesRep",
        sets=["Reports_Export"],
        duration="P7D",
        reason="I want to look at the forecasts",
    )
    ask = await _latest_dm(stage, OLIVIA.id, "Approve")
    out.step("Olivia clicks Deny and gives a reason")
    await ws.click(OLIVIA.id, ask, ActionId.DENY)
    modal = await stage.slack.wait_for(lambda: stage.slack.open_view(OLIVIA.id))
    out.view(OLIVIA.id, modal)
    await ws.submit(
        OLIVIA.id,
        modal["id"],
        {ActionId.DENY_REASON: "Forecasts are shared in the weekly deck; ask your manager."},
    )
    out.message(BOB.id, "a DM", await _latest_dm(stage, BOB.id, "denied"))

    two_owners = await _two_approvers(stage, out)

    repo = stage.runtime.deps.repo
    check = await repo.audit.verify()
    for done in (request, denied_request, two_owners):
        final = await repo.get(done.id)
        trail = [e.action for e in await repo.audit.for_request(done.id)]
        out.note(f"{done.id}: {final.state.value if final else '?'}; audit: {' -> '.join(trail)}")
    out.note(f"audit log: {check.rows} rows, hash chain {'verified' if check.ok else 'BROKEN'}")
    print(f"\nDemo finished in {out.seconds:.1f} s.")


async def _two_approvers(stage: Stage, out: Transcript) -> AccessRequest:
    """A high-risk request: two different owners approve it, and the message counts."""
    ws = stage.workspace
    request = await _request(
        stage,
        out,
        BOB.id,
        profile="Standard User",
        role="SalesRep",
        sets=["Knowledge_Author"],
        duration="P7D",
        reason="I write the release notes for the support articles",
    )
    out.note(f"{request.id} is {request.tier} risk: the policy asks two owners")
    ask = await _ask_about(stage, OMAR.id, request.id)
    olivia_ask = await _ask_about(stage, OLIVIA.id, request.id)
    out.step("Omar clicks Approve: one of two")
    await ws.click(OMAR.id, ask, ActionId.APPROVE)

    def counted_once() -> PostedMessage | None:
        now = _current(stage, olivia_ask)
        return now if now is not None and "1 of 2" in now.text else None

    counted = await stage.slack.wait_for(counted_once, timeout=10)
    out.message(OLIVIA.id, "the approval message, updated in place", counted)
    out.step("Olivia clicks Approve: two of two, the access is set up")
    await ws.click(OLIVIA.id, counted, ActionId.APPROVE)
    out.message(BOB.id, "a DM", await _latest_dm(stage, BOB.id, "is ready"))
    await stage.settle()
    return request


async def _ask_about(stage: Stage, user_id: str, request_id: str) -> PostedMessage:
    def find() -> PostedMessage | None:
        found = [
            m
            for m in stage.slack.dms(user_id)
            if "Approve" in m.text and request_id in str(m.blocks) and not m.is_reply
        ]
        return found[-1] if found else None

    return await stage.slack.wait_for(find, timeout=10)


def _current(stage: Stage, message: PostedMessage) -> PostedMessage | None:
    return next((m for m in stage.slack.messages(message.channel) if m.ts == message.ts), None)


def demo_policy_with_tiers() -> Policy:
    """The demo org's policy, where Knowledge_Author is high risk and needs two owners."""
    return demo_policy(
        permission_sets=(
            "Sales_Ops",
            "Reports_Export",
            {"name": "Knowledge_Author", "tier": "high"},
        ),
        tiers={"high": {"required": 2}},
    )


async def run_demo(*, verbose: bool = False) -> None:
    """Start the simulators and the bot, play the story, and shut everything down."""
    configure_logging("INFO" if verbose else "CRITICAL")
    with tempfile.TemporaryDirectory(prefix="accessbot-demo-") as directory:
        stage = await start_stage(Path(directory), policy=demo_policy_with_tiers())
        try:
            print("accessbot demo: simulated Slack workspace and Salesforce org (Acme Corp)")
            print("People: Jane and Bob ask; Omar and Olivia own Sales Cloud; Ada administers it.")
            await play(stage)
        finally:
            await stage.close()

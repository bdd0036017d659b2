"""Names, emails and reasons people type reach Block Kit escaped and SOQL quoted, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.sandbox.stage import OLIVIA, OMAR, Stage
from handlers.ids import ActionId
from storage.models import State
from tests.e2e.steps import approval_message, dm_texts, submit_request
from tests.security.actors import until

HOSTILE_NAME = "*Boss* <!channel> <https://evil.example|Salesforce> `x` ~y~ @here <@U0MALLORY>"
HOSTILE_REASON = (
    "> Approved by IT\n*URGENT* <!here> click <https://evil.example/login|here> "
    "'; DELETE FROM requests; -- ` ``` _x_ <#C0APPROVALS> <@U0MALLORY>"
)
# What user text must never become in mrkdwn: a broadcast, a link, a mention or formatting.
FORBIDDEN = (
    "<!channel>",
    "<!here>",
    "<https://evil",
    "<@U0MALLORY>",
    "<#C0APPROVALS>",
    "*Boss*",
    "*URGENT*",
    "@here",
    "> Approved",
    "`x`",
)


def _queries(stage: Stage) -> Iterator[str]:
    """The SOQL of every query the org received, inside composites or on their own."""
    for call in stage.org.calls:
        if "q" in call.query:
            yield call.query["q"]
        body = call.json if isinstance(call.json, dict) else {}
        for sub in body.get("compositeRequest") or []:
            query = parse_qs(urlsplit(str(sub.get("url"))).query).get("q")
            if query:
                yield query[0]


def _mrkdwn(blocks: list[dict[str, Any]]) -> Iterator[str]:
    """Every mrkdwn text in ``blocks``, however deeply nested."""
    stack: list[Any] = list(blocks)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "mrkdwn" and isinstance(item.get("text"), str):
                yield item["text"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


async def test_hostile_names_and_reasons_are_shown_inert(stage: Stage) -> None:
    stage.slack.add_user("U0EVE", name="eve", real_name=HOSTILE_NAME, email="eve@acme.com")
    request = await submit_request(stage, "U0EVE", reason=HOSTILE_REASON)
    assert request.reason == HOSTILE_REASON.strip()  # stored exactly as typed
    asks = [await approval_message(stage, owner, request.id) for owner in (OMAR.id, OLIVIA.id)]
    await stage.workspace.click(OMAR.id, asks[0], ActionId.APPROVE)
    await stage.slack.wait_for(lambda: any("is ready" in t for t in dm_texts(stage, "U0EVE")))
    await stage.settle()
    shown = [
        text
        for call in stage.slack.calls()
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral")
        for text in _mrkdwn(call.args.get("blocks") or [])
    ]
    assert any("URGENT" in t for t in shown)  # the reason is shown, escaped
    for text in shown:
        for forbidden in FORBIDDEN:
            assert forbidden not in text, (forbidden, text)
    # the entities Slack needs escaped are, and the reason still reads as typed
    assert any("&lt;!here&gt;" in t for t in shown)
    # the fallback text (notifications) carries no live mention or broadcast either
    fallbacks = [str(c.args.get("text")) for c in stage.slack.calls("chat.postMessage")]
    assert not any("<!channel>" in t or "<!here>" in t for t in fallbacks)


async def test_a_quote_in_a_username_is_quoted_in_soql(stage: Stage) -> None:
    hostile = "x' or username like '%@acme.com"  # usernames are lowercased emails
    profile = stage.org.id_of("Profile", "Sales User")
    existing = stage.org.add_user(hostile, profile, last_name="Quote", active=False)
    others = {u.id: u for u in stage.org.users() if u.id != existing}
    stage.slack.add_user("U0QUOTE", name="quote", real_name="Quinn Quote", email=hostile)
    request = await submit_request(stage, "U0QUOTE")
    ask = await approval_message(stage, OMAR.id, request.id)
    await stage.workspace.click(OMAR.id, ask, ActionId.APPROVE)
    repo = stage.runtime.deps.repo

    async def active() -> bool:
        await stage.settle()
        found = await repo.get(request.id)
        return found is not None and found.state is State.ACTIVE

    await until(active)
    done = await repo.get(request.id)
    assert done is not None and done.sf_user_id == existing  # the one user of that name
    user = stage.org.user(existing)
    assert user is not None and user.is_active and user.username == hostile
    # nobody else was touched
    assert {u.id: u for u in stage.org.users() if u.id != existing} == others
    # and the lookup reached Salesforce with the quote escaped, not as SOQL syntax
    escaped = "'x\\' or username like \\'%@acme.com'"
    assert any(escaped in q for q in _queries(stage)), list(_queries(stage))

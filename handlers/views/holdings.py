"""What a leaving user holds, in one line for the admins, and the Setup pages only people fix."""

from __future__ import annotations

from handlers.views.text import code, safe
from salesforce.holdings import STANDARD_OBJECTS, HeldCount, Holdings


def _counted(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _owned(held: HeldCount) -> str:
    if held.api_name in STANDARD_OBJECTS:
        return _counted(held.count, held.one, held.many)
    return f"{held.count:,} {code(held.api_name, 100)} {'record' if held.count == 1 else 'records'}"


def holdings_line(holdings: Holdings) -> str:
    """E.g. "Owns 300 Accounts, 40 open Opportunities; approver on 3 pending approvals"."""
    parts: list[str] = []
    owned = [_owned(c) for c in holdings.owned if c.count]
    if owned:
        parts.append("Owns " + ", ".join(owned))
    if holdings.approvals:
        parts.append(
            "approver on " + _counted(holdings.approvals, "pending approval", "pending approvals")
        )
    if holdings.reports:
        parts.append("manager of " + _counted(holdings.reports, "user", "users"))
    if holdings.delegators:
        parts.append("delegated approver for " + _counted(holdings.delegators, "user", "users"))
    if holdings.queues:
        parts.append("member of " + _counted(holdings.queues, "queue", "queues"))
    if holdings.groups:
        parts.append("member of " + _counted(holdings.groups, "public group", "public groups"))
    line = "; ".join(parts)
    line = line[:1].upper() + line[1:]
    if holdings.unread:
        could_not = "Could not count " + ", ".join(safe(u, 200) for u in holdings.unread)
        line = f"{line}. {could_not}" if line else could_not
    return (line or "Owns no records we count and nothing points at them") + "."


def setup_lines(paths: tuple[str, ...]) -> str:
    """The Setup pages where what blocks the user changes, one bullet each."""
    return "\n".join(f"• {safe(p, 300)}" for p in paths)

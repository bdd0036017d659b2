"""What a user holds in Salesforce: records they own, approvals waiting on them, queues and
groups they are in, and users who report to them, counted with as few calls as Salesforce allows.

Each count is a ``SELECT COUNT()`` query (Salesforce answers ``totalSize`` and no records), run
as composite subrequests with ``allOrNone`` off, so one object Salesforce refuses is named and
the rest still count. A composite carries at most 5 queries, so the default six objects plus
approvals, memberships, reports and delegations (10 queries) cost 2 calls; each further 5
objects cost one more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from simple_salesforce.format import format_soql

from salesforce.client import SalesforceClient
from salesforce.composite import MAX_QUERIES, SubResponse, chunks, query_subrequest
from salesforce.errors import RecordNotFound
from salesforce.records import is_salesforce_id

CUSTOM_OBJECT = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__c$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class HeldObject(_Frozen):
    """An object whose records a user may own, and which of them count (open ones, say)."""

    api_name: str
    one: str  # "open Opportunity"
    many: str  # "open Opportunities"
    where: str = ""  # an extra SOQL filter on the object's own fields

    def count_query(self, user_id: str) -> str:
        """``SELECT COUNT()`` of the user's records (the name is checked, the Id escaped)."""
        extra = f" AND {self.where}" if self.where else ""
        return format_soql(
            "SELECT COUNT() FROM {name:literal} WHERE OwnerId = {user}{extra:literal}",
            name=self.api_name,
            user=user_id,
            extra=extra,
        )


STANDARD_OBJECTS: dict[str, HeldObject] = {
    o.api_name: o
    for o in (
        HeldObject(api_name="Account", one="Account", many="Accounts"),
        HeldObject(api_name="Contact", one="Contact", many="Contacts"),
        HeldObject(
            api_name="Opportunity",
            one="open Opportunity",
            many="open Opportunities",
            where="IsClosed = false",
        ),
        HeldObject(
            api_name="Lead",
            one="unconverted Lead",
            many="unconverted Leads",
            where="IsConverted = false",
        ),
        HeldObject(api_name="Case", one="open Case", many="open Cases", where="IsClosed = false"),
        HeldObject(api_name="Campaign", one="Campaign", many="Campaigns"),
    )
}
DEFAULT_OBJECTS = tuple(STANDARD_OBJECTS)
MAX_OBJECTS = 20  # 4 more calls at most, however long a policy's list


def held_object(name: str) -> HeldObject | None:
    """The standard object called ``name`` (any case), a custom object, or None if neither."""
    standard = next(
        (o for o in STANDARD_OBJECTS.values() if o.api_name.lower() == name.lower()), None
    )
    if standard is not None:
        return standard
    if CUSTOM_OBJECT.match(name):
        return HeldObject(api_name=name, one=f"{name} record", many=f"{name} records")
    return None


class HeldCount(_Frozen):
    """How many records of one object the user owns."""

    api_name: str
    one: str
    many: str
    count: int


class Holdings(_Frozen):
    """What points at a user; ``unread`` names what Salesforce refused to count, and why."""

    user_id: str
    owned: tuple[HeldCount, ...] = ()
    approvals: int = 0  # pending approval work items assigned to them
    queues: int = 0
    groups: int = 0  # public groups
    reports: int = 0  # active users whose Manager they are
    delegators: int = 0  # active users who name them Delegated Approver
    unread: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing counted points at the user (and everything could be counted)."""
        return not self.unread and not self.counts()

    def counts(self) -> dict[str, int]:
        """The non-zero counts by name, for the audit log."""
        every = {c.api_name: c.count for c in self.owned}
        every |= {
            "ProcessInstanceWorkitem": self.approvals,
            "Queue": self.queues,
            "Group": self.groups,
            "ManagerOf": self.reports,
            "DelegatedApproverOf": self.delegators,
        }
        return {name: n for name, n in every.items() if n}


def _others(user_id: str) -> dict[str, str]:
    active = "IsActive = true"
    return {
        "approvals": format_soql(
            "SELECT COUNT() FROM ProcessInstanceWorkitem WHERE ActorId = {}", user_id
        ),
        # Queues and public groups in one query: a person is in a handful, never thousands.
        "members": format_soql(
            "SELECT Group.Type FROM GroupMember WHERE UserOrGroupId = {} "
            "AND Group.Type IN ('Queue', 'Regular')",
            user_id,
        ),
        "reports": format_soql(
            "SELECT COUNT() FROM User WHERE ManagerId = {} AND {a:literal}", user_id, a=active
        ),
        "delegators": format_soql(
            "SELECT COUNT() FROM User WHERE DelegatedApproverId = {} AND {a:literal}",
            user_id,
            a=active,
        ),
    }


def _total(response: SubResponse) -> int:
    body = response.body if isinstance(response.body, dict) else {}
    return int(body.get("totalSize", 0))


def _of_type(response: SubResponse, kind: str) -> int:
    return sum(1 for r in response.records() if (r.get("Group") or {}).get("Type") == kind)


def read_holdings(client: SalesforceClient, user_id: str, objects: Sequence[str]) -> Holdings:
    """Count what the user holds (2 calls for the default objects); an object Salesforce will
    not count is named in ``unread``."""
    if not is_salesforce_id(user_id):
        raise RecordNotFound(f"malformed user id {user_id!r}", error_code="MALFORMED_ID")
    held = [o for o in (held_object(n) for n in dict.fromkeys(objects)) if o is not None]
    held = held[:MAX_OBJECTS]
    queries = {f"own{n}": o.count_query(user_id) for n, o in enumerate(held)} | _others(user_id)
    responses: dict[str, SubResponse] = {}
    for part in chunks(list(queries.items()), MAX_QUERIES):
        result = client.composite([query_subrequest(ref, q) for ref, q in part], all_or_none=False)
        responses |= {r.reference_id: r for r in result.responses}
    unread: list[str] = []
    totals: dict[str, int] = {}
    for ref in queries:
        response = responses[ref]
        if response.ok and ref == "members":
            totals["queues"] = _of_type(response, "Queue")
            totals["groups"] = _of_type(response, "Regular")
            continue
        if response.ok:
            totals[ref] = _total(response)
            continue
        error = response.error()
        what = held[int(ref[3:])].api_name if ref.startswith("own") else ref
        if ref == "members":
            what = "queues and groups"
        unread.append(f"{what}: {error.error_code or 'refused'}")
    owned = tuple(
        HeldCount(api_name=o.api_name, one=o.one, many=o.many, count=totals[f"own{n}"])
        for n, o in enumerate(held)
        if f"own{n}" in totals
    )
    return Holdings(
        user_id=user_id,
        owned=owned,
        approvals=totals.get("approvals", 0),
        queues=totals.get("queues", 0),
        groups=totals.get("groups", 0),
        reports=totals.get("reports", 0),
        delegators=totals.get("delegators", 0),
        unread=tuple(unread),
    )

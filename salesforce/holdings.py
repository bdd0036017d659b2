"""What users hold in Salesforce: records they own, approvals waiting on them, queues and
groups they are in, and users who report to them, counted with as few calls as Salesforce allows.

Each count is an aggregate query (``SELECT OwnerId, COUNT(Id) ... WHERE OwnerId IN (...) GROUP
BY OwnerId``) for up to 200 users at once, run as composite subrequests with ``allOrNone`` off,
so one object Salesforce refuses is named and the rest still count. A composite carries at most
5 queries, so the default six objects plus approvals, memberships, reports and delegations (10
queries) cost 2 calls per 200 users; each further 5 objects cost one more.
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

    def count_query(self, user_ids: Sequence[str]) -> str:
        """How many records each user owns (the name is checked, the Ids escaped)."""
        return _grouped("OwnerId", self.api_name, user_ids, self.where)


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


_OTHER_COUNTS = {
    "ProcessInstanceWorkitem": "approvals",
    "Queue": "queues",
    "Group": "groups",
    "ManagerOf": "reports",
    "DelegatedApproverOf": "delegators",
}


def holdings_from_counts(user_id: str, counts: dict[str, int]) -> Holdings:
    """The holdings the audit log recorded (``Holdings.counts``), read back."""
    owned = []
    others: dict[str, int] = {}
    for name, count in counts.items():
        if name in _OTHER_COUNTS:
            others[_OTHER_COUNTS[name]] = count
        elif (held := held_object(name)) is not None:
            owned.append(
                HeldCount(api_name=held.api_name, one=held.one, many=held.many, count=count)
            )
    return Holdings.model_validate({"user_id": user_id, "owned": owned, **others})


def _grouped(by: str, sobject: str, user_ids: Sequence[str], where: str = "") -> str:
    """``SELECT by, COUNT(Id) FROM sobject WHERE by IN users [AND where] GROUP BY by``."""
    return format_soql(
        "SELECT {by:literal}, COUNT(Id) FROM {sobject:literal} WHERE {by:literal} IN {users}"
        "{extra:literal} GROUP BY {by:literal}",
        by=by,
        sobject=sobject,
        users=list(user_ids),
        extra=f" AND {where}" if where else "",
    )


def _others(user_ids: Sequence[str]) -> dict[str, str]:
    active = "IsActive = true"
    return {
        "approvals": _grouped("ActorId", "ProcessInstanceWorkitem", user_ids),
        "members": format_soql(
            "SELECT UserOrGroupId, Group.Type, COUNT(Id) FROM GroupMember "
            "WHERE UserOrGroupId IN {} AND Group.Type IN ('Queue', 'Regular') "
            "GROUP BY UserOrGroupId, Group.Type",
            list(user_ids),
        ),
        "reports": _grouped("ManagerId", "User", user_ids, active),
        "delegators": _grouped("DelegatedApproverId", "User", user_ids, active),
    }


_KEYS = {"approvals": "ActorId", "reports": "ManagerId", "delegators": "DelegatedApproverId"}


def _per_user(response: SubResponse, key: str) -> dict[str, int]:
    """``{user Id (15 characters): count}`` from one grouped answer."""
    out: dict[str, int] = {}
    for row in response.records():
        user = str(row.get(key) or "")[:15]
        out[user] = out.get(user, 0) + int(row.get("expr0") or 0)
    return out


def _members(response: SubResponse, kind: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in response.records():
        if row.get("Type") == kind:
            user = str(row.get("UserOrGroupId") or "")[:15]
            out[user] = out.get(user, 0) + int(row.get("expr0") or 0)
    return out


def _read_chunk(
    client: SalesforceClient, user_ids: list[str], held: list[HeldObject]
) -> dict[str, Holdings]:
    queries = {f"own{n}": o.count_query(user_ids) for n, o in enumerate(held)}
    queries |= _others(user_ids)
    responses: dict[str, SubResponse] = {}
    for part in chunks(list(queries.items()), MAX_QUERIES):
        result = client.composite([query_subrequest(r, q) for r, q in part], all_or_none=False)
        responses |= {r.reference_id: r for r in result.responses}
    counts: dict[str, dict[str, int]] = {}
    unread: list[str] = []
    for ref in queries:
        response = responses[ref]
        if not response.ok:
            what = held[int(ref[3:])].api_name if ref.startswith("own") else ref
            unread.append(f"{what}: {response.error().error_code or 'refused'}")
        elif ref == "members":
            counts["queues"] = _members(response, "Queue")
            counts["groups"] = _members(response, "Regular")
        else:
            counts[ref] = _per_user(response, "OwnerId" if ref.startswith("own") else _KEYS[ref])
    out: dict[str, Holdings] = {}
    for user_id in user_ids:
        key = user_id[:15]

        def of(ref: str, key: str = key) -> int:
            return counts.get(ref, {}).get(key, 0)

        owned = tuple(
            HeldCount(api_name=o.api_name, one=o.one, many=o.many, count=of(f"own{n}"))
            for n, o in enumerate(held)
            if f"own{n}" in counts
        )
        out[user_id] = Holdings(
            user_id=user_id,
            owned=owned,
            approvals=of("approvals"),
            queues=of("queues"),
            groups=of("groups"),
            reports=of("reports"),
            delegators=of("delegators"),
            unread=tuple(unread),
        )
    return out


def read_holdings(
    client: SalesforceClient, user_ids: Sequence[str], objects: Sequence[str]
) -> dict[str, Holdings]:
    """Count what each user holds (2 calls per 200 users with the default objects); what
    Salesforce will not count is named in ``unread``."""
    ids = list(dict.fromkeys(user_ids))
    for user_id in ids:
        if not is_salesforce_id(user_id):
            raise RecordNotFound(f"malformed user id {user_id!r}", error_code="MALFORMED_ID")
    held = [o for o in (held_object(n) for n in dict.fromkeys(objects)) if o is not None]
    out: dict[str, Holdings] = {}
    for part in chunks(ids):
        out |= _read_chunk(client, part, held[:MAX_OBJECTS])
    return out

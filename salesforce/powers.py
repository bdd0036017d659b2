"""Reading what a profile, permission set or group could hand over: one call each time."""

from __future__ import annotations

from collections.abc import Sequence

from salesforce import soql
from salesforce.client import SalesforceClient
from salesforce.composite import query_subrequest
from salesforce.models import CUSTOMIZE_APPLICATION, GrantKind, GrantPowers, Power, RecordPowers


def read_powers(client: SalesforceClient, kind: GrantKind, record_id: str) -> RecordPowers:
    """The record's org-wide powers, and whether the integration user holds it (1 call)."""
    me = client.userinfo().user_id
    result = client.composite(
        [
            query_subrequest("powers", soql.powers_of(kind, record_id)),
            query_subrequest("me", soql.profile_of(me)),
            query_subrequest("mine", soql.assignments_of(me)),
        ],
        all_or_none=False,
    )
    result.raise_for_failure()
    rows = result.get("powers").records()
    powers = tuple(p for p in Power if any(row.get(p.value) is True for row in rows))
    held = {str(r.get("ProfileId") or "") for r in result.get("me").records()}
    for row in result.get("mine").records():
        held.update(str(row.get(k) or "") for k in ("PermissionSetId", "PermissionSetGroupId"))
    held.discard("")
    return RecordPowers(
        kind=kind,
        record_id=record_id,
        powers=powers,
        integration_user_holds=record_id in held,
        customizes_application=any(row.get(CUSTOMIZE_APPLICATION) is True for row in rows),
    )


def read_grant_powers(
    client: SalesforceClient, records: Sequence[tuple[GrantKind, str]]
) -> dict[str, GrantPowers]:
    """The org-wide powers of these permission sets and groups, by record Id (1 query)."""
    set_ids = sorted({i for kind, i in records if kind is GrantKind.PERMISSION_SET})
    group_ids = sorted({i for kind, i in records if kind is GrantKind.GROUP})
    if not set_ids and not group_ids:
        return {}
    rows = client.query(soql.powers_of_sets(set_ids, group_ids))
    found: dict[str, GrantPowers] = {}
    for kind, ids in ((GrantKind.PERMISSION_SET, set_ids), (GrantKind.GROUP, group_ids)):
        key = "Id" if kind is GrantKind.PERMISSION_SET else "PermissionSetGroupId"
        for record_id in ids:
            # 15- or 18-character forms of one Id share their first 15 characters.
            mine = [row for row in rows if str(row.get(key) or "")[:15] == record_id[:15]]
            if not mine:
                continue  # gone from the org: the caller decides what an unknown set means
            found[record_id] = GrantPowers(
                kind=kind,
                record_id=record_id,
                powers=tuple(p for p in Power if any(r.get(p.value) is True for r in mine)),
                customizes_application=any(r.get(CUSTOMIZE_APPLICATION) is True for r in mine),
            )
    return found

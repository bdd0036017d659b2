"""Reading what a profile, permission set or group could hand over: one composite call."""

from __future__ import annotations

from salesforce import soql
from salesforce.client import SalesforceClient
from salesforce.composite import query_subrequest
from salesforce.models import CUSTOMIZE_APPLICATION, GrantKind, Power, RecordPowers


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

"""When users last logged in (User.LastLoginDate), read for many users in few calls.

Each query names up to 200 Ids (a query's URL stays well under the 16 KB a GET may carry),
and five such queries ride in one composite call: 1,000 users a call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from salesforce import soql
from salesforce.client import SalesforceClient
from salesforce.composite import MAX_COLLECTION, MAX_QUERIES, chunks, query_subrequest
from salesforce.expiration import from_salesforce
from salesforce.records import LastLoginRow, is_salesforce_id

USERS_PER_CALL = MAX_COLLECTION * MAX_QUERIES


def read_last_logins(
    client: SalesforceClient, user_ids: Sequence[str]
) -> dict[str, datetime | None]:
    """User Id -> its LastLoginDate (None: never logged in); users the org lacks are absent.

    A failed query raises its typed error: a review opens with every line's login or not at all.
    """
    ids = [i for i in dict.fromkeys(user_ids) if is_salesforce_id(i)]
    found: dict[str, datetime | None] = {}
    for call in chunks(chunks(ids, MAX_COLLECTION), MAX_QUERIES):
        subrequests = [
            query_subrequest(f"logins{n}", soql.last_logins(part)) for n, part in enumerate(call)
        ]
        result = client.composite(subrequests, all_or_none=False)
        for response in result.responses:
            for row in response.records():
                read = LastLoginRow.model_validate(row)
                found[read.id] = from_salesforce(read.last_login)
    return found

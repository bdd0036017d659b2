"""The synchronous core: one simple-salesforce client over one shared session, typed failures,
API usage read from every response, and per-operation call counts."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ConfigDict
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce

from salesforce.auth import SalesforceAuth, connect
from salesforce.composite import CompositeResult, RecordResult, Subrequest
from salesforce.error_mapping import from_exception
from salesforce.models import ApiBudget

logger = logging.getLogger(__name__)
T = TypeVar("T")
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class TimeoutAdapter(HTTPAdapter):
    """An HTTPS adapter that applies a default timeout to every request (logins included)."""

    def __init__(self, timeout: float, pool_size: int) -> None:
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size)
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send with the default timeout unless the caller gave one."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class UserInfo(BaseModel):
    """Who the session acts as (from /services/oauth2/userinfo)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: str
    organization_id: str
    preferred_username: str = ""


@dataclass
class CallCount:
    """Data API requests one operation made (renewed-session retries included, 401s not)."""

    calls: int = 0


class SalesforceClient:
    """Thread-safe; every method blocks, so callers run it in a worker thread."""

    def __init__(self, auth: SalesforceAuth, session: requests.Session) -> None:
        self.auth = auth
        self.session = session
        self._sf: Salesforce | None = None
        self._connect_lock = threading.Lock()
        self._budget_lock = threading.Lock()
        self._budget: ApiBudget | None = None
        self._calls = 0
        self._local = threading.local()
        self._me: UserInfo | None = None
        session.hooks["response"].append(self._on_response)

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        # A session hook sees every response, including calls simple-salesforce's own
        # api_usage bookkeeping misses (SFType calls, logins, query_more).
        match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            with self._budget_lock:
                self._budget = ApiBudget(used=int(match.group(1)), total=int(match.group(2)))
        if "/services/data/" not in response.url or response.status_code == 401:
            return
        with self._budget_lock:
            self._calls += 1
        counter: CallCount | None = getattr(self._local, "counter", None)
        if counter is not None:
            counter.calls += 1

    @property
    def budget(self) -> ApiBudget | None:
        """The API usage on the latest response."""
        with self._budget_lock:
            return self._budget

    @property
    def calls(self) -> int:
        """Data API requests this client made since it started (401s not counted)."""
        with self._budget_lock:
            return self._calls

    def limits(self) -> ApiBudget:
        """GET /limits: a cheap call proving the session works; its daily API allowance."""
        body = self.rest("GET", "limits")
        daily = body["DailyApiRequests"]
        budget = ApiBudget(
            used=int(daily["Max"]) - int(daily["Remaining"]), total=int(daily["Max"])
        )
        with self._budget_lock:
            self._budget = budget
        return budget

    @contextmanager
    def counting(self) -> Iterator[CallCount]:
        """Count the data API requests made by this thread inside the block."""
        counter, previous = CallCount(), getattr(self._local, "counter", None)
        self._local.counter = counter
        try:
            yield counter
        finally:
            self._local.counter = previous

    def _connected(self) -> Salesforce:
        with self._connect_lock:
            if self._sf is None:
                self._sf = connect(self.auth, self.session)
            return self._sf

    def call(self, action: Callable[[Salesforce], T]) -> T:
        """Run ``action`` on the client; every failure leaves as a ``salesforce.errors`` type."""
        try:
            return action(self._connected())
        except Exception as exc:
            raise from_exception(exc) from exc

    def query(self, soql: str) -> list[dict[str, Any]]:
        """All records of a query (following nextRecordsUrl)."""
        result = self.call(lambda sf: sf.query_all(soql))
        return [r for r in result.get("records", []) if isinstance(r, dict)]

    def query_more(self, next_records_url: str) -> dict[str, Any]:
        """The next page of a query."""
        page = self.call(lambda sf: sf.query_more(next_records_url, identifier_is_url=True))
        return dict(page)

    def rest(
        self, method: str, path: str, *, params: dict[str, str] | None = None, json: Any = None
    ) -> Any:
        """A REST call below /services/data/vXX.X/ (None for 204)."""
        return self.call(lambda sf: sf.restful(path, params=params, method=method, json=json))

    def composite(self, subrequests: list[Subrequest], *, all_or_none: bool) -> CompositeResult:
        """One composite call (counts as one API request)."""
        payload = {
            "allOrNone": all_or_none,
            "compositeRequest": [s.to_json(self.auth.api_version) for s in subrequests],
        }
        body = self.rest("POST", "composite", json=payload)
        return CompositeResult.model_validate({"responses": body["compositeResponse"]})

    def update_records(self, records: list[dict[str, Any]]) -> list[RecordResult]:
        """PATCH /composite/sobjects (at most 200 records, each with attributes.type and id)."""
        body = self.rest(
            "PATCH", "composite/sobjects", json={"allOrNone": False, "records": records}
        )
        return [RecordResult.model_validate(r) for r in body or []]

    def create_records(self, records: list[dict[str, Any]]) -> list[RecordResult]:
        """POST /composite/sobjects (at most 200 records)."""
        body = self.rest(
            "POST", "composite/sobjects", json={"allOrNone": False, "records": records}
        )
        return [RecordResult.model_validate(r) for r in body or []]

    def delete_records(self, ids: list[str]) -> list[RecordResult]:
        """DELETE /composite/sobjects (at most 200 Ids)."""
        params = {"ids": ",".join(ids), "allOrNone": "false"}
        body = self.rest("DELETE", "composite/sobjects", params=params)
        return [RecordResult.model_validate(r) for r in body or []]

    def retrieve_records(
        self, sobject: str, ids: list[str], fields: list[str]
    ) -> list[dict[str, Any] | None]:
        """POST /composite/sobjects/{type}: up to 2000 records by Id (None where missing)."""
        body = self.rest(
            "POST", f"composite/sobjects/{sobject}", json={"ids": ids, "fields": fields}
        )
        return [r if isinstance(r, dict) else None for r in body or []]

    def userinfo(self) -> UserInfo:
        """The session's user and org (fetched once)."""
        if self._me is None:
            raw = self.call(lambda sf: sf.oauth2("userinfo"))
            self._me = UserInfo.model_validate(raw)
        return self._me

    def close(self) -> None:
        """Close the shared session's connections."""
        self.session.close()

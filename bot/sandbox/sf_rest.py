"""The simulated org's REST resources under /services/data/vXX.X/: one dispatcher, no HTTP."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import Any

from bot.sandbox import sf_rules
from bot.sandbox.sf_bulk import BulkJobs
from bot.sandbox.sf_bulk_query import QueryJobs
from bot.sandbox.sf_calls import Call, RestResult
from bot.sandbox.sf_composite import collections, composite
from bot.sandbox.sf_errors import SfApiError, not_found
from bot.sandbox.sf_query import aggregate, attributes, count_rows, execute
from bot.sandbox.sf_schema import SObjectType, canonical_type, describe
from bot.sandbox.sf_soql import parse
from bot.sandbox.sf_store import Store


class RestApi:
    """Routes REST calls to the store and rules; composite and collections build on ``handle``."""

    def __init__(
        self, store: Store, usage: Callable[[], tuple[int, int]], batch_size: int = 2000
    ) -> None:
        self.store = store
        self.usage = usage
        self.batch_size = batch_size
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._locators = count(1)
        self.bulk = BulkJobs(store, lambda: store.ids.new("750"))
        self.bulk_query = QueryJobs(store, lambda: store.ids.new("750"))

    def handle(self, call: Call) -> RestResult:
        """Answer one call; refusals become their real error bodies."""
        try:
            return self._route(call)
        except SfApiError as err:
            return RestResult(err.status, err.body())

    def sobject(self, name: str) -> SObjectType:
        """The object called ``name`` or the real NOT_FOUND refusal."""
        sobject_type = canonical_type(self.store.schema, name)
        if sobject_type is None:
            raise not_found()
        return sobject_type

    def _route(self, call: Call) -> RestResult:
        parts = [p for p in call.path.split("/") if p]
        method = call.method.upper()
        head = parts[0] if parts else ""
        if head == "limits" and method == "GET" and len(parts) == 1:
            return self._limits()
        if head in ("query", "queryAll") and method == "GET":
            return self._query(call, parts[1] if len(parts) > 1 else None)
        if head == "sobjects" and len(parts) in (2, 3):
            return self._sobject(call, parts)
        if head == "jobs" and len(parts) > 1 and parts[1] == "query":
            return self.bulk_query.handle(call, parts)
        if head == "jobs":
            return self.bulk.handle(call, parts)
        if head == "composite" and len(parts) == 1 and method == "POST":
            return composite(self, call)
        if head == "composite" and len(parts) >= 2 and parts[1] == "sobjects":
            return collections(self, call, parts[2] if len(parts) > 2 else None)
        raise not_found()

    def _limits(self) -> RestResult:
        used, total = self.usage()
        return RestResult(
            200,
            {
                "DailyApiRequests": {"Max": total, "Remaining": max(total - used, 0)},
                "DataStorageMB": {"Max": 1024, "Remaining": 1000},
            },
        )

    def _query(self, call: Call, locator: str | None) -> RestResult:
        if locator is not None:
            records = self._cursors.pop(locator, None)
            if records is None:
                raise SfApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator", None)
            return RestResult(200, self._page(records, call.version, len(records)))
        text = call.query.get("q")
        if not text:
            raise SfApiError(400, "MALFORMED_QUERY", "A query string has to be specified", None)
        query = parse(text, self.store.schema)
        if query.count:  # a count query answers with the number and no records
            return RestResult(
                200, {"totalSize": count_rows(self.store, query), "done": True, "records": []}
            )
        if query.aggregates or query.group_by:
            records = aggregate(self.store, query)
        else:
            records = execute(self.store, query, call.version)
        return RestResult(200, self._page(records, call.version, len(records)))

    def _page(self, records: list[dict[str, Any]], version: str, total: int) -> dict[str, Any]:
        batch, rest = records[: self.batch_size], records[self.batch_size :]
        page: dict[str, Any] = {"totalSize": total, "done": not rest, "records": batch}
        if rest:
            locator = f"01gSIM{next(self._locators):09d}-{self.batch_size}"
            self._cursors[locator] = rest
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}"
        return page

    def _sobject(self, call: Call, parts: list[str]) -> RestResult:
        sobject = self.sobject(parts[1]).name
        method = call.method.upper()
        if len(parts) == 2:
            if method != "POST":
                raise not_found()
            body = call.body if isinstance(call.body, dict) else {}
            record_id = sf_rules.create(self.store, call.caller, sobject, dict(body))
            location = f"/services/data/v{call.version}/sobjects/{sobject}/{record_id}"
            return RestResult(
                201, {"id": record_id, "success": True, "errors": []}, {"Location": location}
            )
        record_id = parts[2]
        if method == "GET" and record_id == "describe":
            return RestResult(200, describe(self.store.schema[sobject]))
        if method == "GET":
            wanted = call.query.get("fields")
            return RestResult(200, self.retrieve(sobject, record_id, wanted, call.version))
        if method == "PATCH":
            body = call.body if isinstance(call.body, dict) else {}
            sf_rules.update(self.store, call.caller, sobject, record_id, dict(body))
            return RestResult(204)
        if method == "DELETE":
            sf_rules.delete(self.store, call.caller, sobject, record_id)
            return RestResult(204)
        raise not_found()

    def retrieve(
        self, sobject: str, record_id: str, wanted: str | None, version: str
    ) -> dict[str, Any]:
        """GET /sobjects/{type}/{id}[?fields=a,b]: the record or NOT_FOUND."""
        row = self.store.get(sobject, record_id)
        if row is None:
            raise not_found()
        sobject_type = self.store.schema[sobject]
        names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else list(row)
        out: dict[str, Any] = {"attributes": attributes(sobject, row["Id"], version)}
        for name in names:
            canonical = sobject_type.canonical_field(name)
            if canonical is None:
                raise SfApiError(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'", None
                )
            out[canonical] = row.get(canonical)
        return out

"""Bulk API 2.0 query jobs in the simulated org, as simple-salesforce's ``bulk2`` reads them.

``POST jobs/query`` ``{"operation": "query", "query": ...}`` starts a job (UploadComplete),
``GET jobs/query/{id}`` tells its state (InProgress, then JobComplete on the next look), and
``GET jobs/query/{id}/results?maxRecords=N[&locator=L]`` answers CSV pages with the
``Sforce-Locator`` (``null`` on the last page) and ``Sforce-NumberOfRecords`` headers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.sf_calls import Call, RestResult
from bot.sandbox.sf_errors import SfApiError, not_found
from bot.sandbox.sf_query import execute
from bot.sandbox.sf_soql import parse
from bot.sandbox.sf_soql_ast import Query
from bot.sandbox.sf_store import Store

CSV = "text/csv"
MAX_PAGE = 1_000_000  # nothing above this is refused by the sim; Salesforce caps by size


@dataclass
class QueryJob:
    """One query job; its rows are read when it completes."""

    id: str
    operation: str
    soql: str
    query: Query
    created_by: str
    version: str
    state: str = "UploadComplete"
    rows: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """The job as ``GET jobs/query/{id}`` describes it."""
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.query.sobject.name,
            "createdById": self.created_by,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Query",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
            "numberRecordsProcessed": len(self.rows),
            "retries": 0,
            "totalProcessingTime": 0,
        }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class QueryJobs:
    """Every query job of the org."""

    def __init__(self, store: Store, new_id: Callable[[], str]) -> None:
        self.store = store
        self._new_id = new_id
        self.jobs: dict[str, QueryJob] = {}
        self.held = False  # a busy org: running query jobs stay InProgress until released

    def handle(self, call: Call, parts: list[str]) -> RestResult:
        """Route ``jobs/query[/{id}[/results]]``."""
        method = call.method.upper()
        if len(parts) == 2 and method == "POST":
            return self._create(call)
        if len(parts) < 3:
            raise not_found()
        job = self.jobs.get(parts[2])
        if job is None:
            raise not_found()
        if len(parts) == 3 and method == "GET":
            self._advance(job)
            return RestResult(200, job.info())
        if len(parts) == 3 and method == "PATCH":
            wanted = call.body.get("state") if isinstance(call.body, dict) else None
            if wanted != "Aborted" or job.state in ("JobComplete", "Failed", "Aborted"):
                raise SfApiError(409, "INVALIDJOBSTATE", f"Job {job.id} cannot be aborted", None)
            job.state = "Aborted"
            return RestResult(200, job.info())
        if len(parts) == 3 and method == "DELETE":
            del self.jobs[job.id]
            return RestResult(204)
        if len(parts) == 4 and parts[3] == "results" and method == "GET":
            return self._results(job, call.query)
        raise not_found()

    def _create(self, call: Call) -> RestResult:
        body = call.body if isinstance(call.body, dict) else {}
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            raise SfApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        text = str(body.get("query") or "")
        query = parse(text, self.store.schema)  # a bad query is refused at once, as Salesforce does
        if query.count or query.aggregates or query.group_by:
            raise SfApiError(
                400,
                "INVALIDJOB",
                "InvalidJob : Aggregate Relationships not supported in Bulk Query",
                None,
            )
        job = QueryJob(
            id=self._new_id(),
            operation=str(operation),
            soql=text,
            query=query,
            created_by=call.caller,
            version=call.version,
        )
        self.jobs[job.id] = job
        return RestResult(200, job.info())

    def _advance(self, job: QueryJob) -> None:
        if job.state == "UploadComplete":
            job.state = "InProgress"
        elif job.state == "InProgress" and not self.held:
            records = execute(self.store, job.query, job.version)
            job.header = [".".join(p.names) for p in job.query.fields]
            job.rows = [
                [_cell(_dig(record, p.names)) for p in job.query.fields] for record in records
            ]
            job.state = "JobComplete"

    def _results(self, job: QueryJob, params: Any) -> RestResult:
        if job.state != "JobComplete":
            raise SfApiError(
                400, "INVALIDJOBSTATE", f"Job {job.id} is not complete; no results yet", None
            )
        try:
            size = int(params.get("maxRecords") or MAX_PAGE)
            start = int(params.get("locator") or 0)
        except ValueError as err:
            raise SfApiError(400, "INVALIDLOCATOR", "Invalid locator or maxRecords", None) from err
        if size <= 0 or start < 0 or start > len(job.rows):
            raise SfApiError(400, "INVALIDLOCATOR", "Invalid locator or maxRecords", None)
        page = job.rows[start : start + size]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(job.header)
        writer.writerows(page)
        after = start + len(page)
        headers = {
            "Sforce-Locator": str(after) if after < len(job.rows) else "null",
            "Sforce-NumberOfRecords": str(len(page)),
        }
        return RestResult(200, out.getvalue(), headers, content_type=CSV)


def _dig(record: dict[str, Any], names: tuple[str, ...]) -> Any:
    value: Any = record
    for name in names:
        value = value.get(name) if isinstance(value, dict) else None
    return value

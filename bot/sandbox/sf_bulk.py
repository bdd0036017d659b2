"""Bulk API 2.0 ingest jobs in the simulated org, as simple-salesforce's ``bulk2`` drives them.

``POST jobs/ingest`` opens a job, ``PUT jobs/ingest/{id}/batches`` uploads its CSV (201, no
body), ``PATCH jobs/ingest/{id}`` ``{"state": "UploadComplete"}`` closes it (or ``Aborted``),
``GET jobs/ingest/{id}`` tells its state, ``GET .../successfulResults/``, ``failedResults/``
and ``unprocessedrecords/`` answer CSV, ``DELETE`` removes a finished job. A closed job is
``UploadComplete``, then ``InProgress`` on the next look, then ``JobComplete`` on the one after
(rows are applied then) unless the org holds its jobs in progress.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.sandbox import sf_rules
from bot.sandbox.sf_calls import Call, RestResult
from bot.sandbox.sf_errors import SfApiError, not_found
from bot.sandbox.sf_schema import canonical_type
from bot.sandbox.sf_store import Store

CSV = "text/csv"
MAX_UPLOAD_BYTES = 150 * 1024 * 1024
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
_DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^"}
_DELIMITERS["BACKQUOTE"] = "`"
FINISHED = ("JobComplete", "Failed", "Aborted")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class IngestJob:
    """One ingest job and its rows; results are kept as Salesforce keeps them, by row."""

    id: str
    object: str
    operation: str
    created_by: str
    version: str
    delimiter: str
    line_ending: str
    state: str = "Open"
    created: str = field(default_factory=_now)
    header: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    succeeded: list[dict[str, str]] = field(default_factory=list)
    failed: list[tuple[dict[str, str], str]] = field(default_factory=list)
    error_message: str | None = None

    def info(self) -> dict[str, Any]:
        """The job as ``GET jobs/ingest/{id}`` describes it."""
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created,
            "systemModstamp": _now(),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Ingest",
            "contentUrl": f"services/data/v{self.version}/jobs/ingest/{self.id}/batches",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
            "numberRecordsProcessed": len(self.succeeded) + len(self.failed),
            "numberRecordsFailed": len(self.failed),
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
            **({"errorMessage": self.error_message} if self.error_message else {}),
        }


def _invalid_state(job: IngestJob) -> SfApiError:
    return SfApiError(
        409, "INVALIDJOBSTATE", f"Job {job.id} is in state {job.state}; not allowed", None
    )


def bulk_error(err: SfApiError) -> str:
    """A refused row's ``sf__Error``: ``CODE:message:fields --`` (``CODE:message:--``)."""
    fields = ",".join(err.fields or ())
    return f"{err.error_code}:{err.message}:{fields + ' ' if fields else ''}--"


class BulkJobs:
    """Every ingest job of the org; ``held`` keeps closed jobs InProgress until released."""

    def __init__(self, store: Store, new_id: Callable[[], str]) -> None:
        self.store = store
        self._new_id = new_id
        self.jobs: dict[str, IngestJob] = {}
        self.held = False

    def handle(self, call: Call, parts: list[str]) -> RestResult:
        """Route ``jobs/ingest[/{id}[/{results}]]``."""
        method = call.method.upper()
        if len(parts) < 2 or parts[1] != "ingest":
            raise not_found()
        if len(parts) == 2:
            if method == "POST":
                return self._create(call)
            if method == "GET":
                return RestResult(
                    200,
                    {"done": True, "records": [j.info() for j in self.jobs.values()]},
                )
            raise not_found()
        job = self.jobs.get(parts[2])
        if job is None:
            raise SfApiError(404, "NOT_FOUND", "The requested resource does not exist", None)
        if len(parts) == 3:
            if method == "GET":
                self._advance(job)
                return RestResult(200, job.info())
            if method == "PATCH":
                return self._set_state(job, call.body)
            if method == "DELETE":
                if job.state not in (*FINISHED, "UploadComplete"):
                    raise _invalid_state(job)
                del self.jobs[job.id]
                return RestResult(204)
            raise not_found()
        if len(parts) == 4 and parts[3] == "batches" and method == "PUT":
            return self._upload(job, call.body)
        if len(parts) == 4 and method == "GET":
            return self._results(job, parts[3])
        raise not_found()

    def _create(self, call: Call) -> RestResult:
        body = call.body if isinstance(call.body, dict) else {}
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise SfApiError(
                400,
                "INVALIDJOB",
                f"InvalidJob : Invalid job operation: {operation}",
                None,
            )
        sobject = canonical_type(self.store.schema, str(body.get("object") or ""))
        if sobject is None:
            raise SfApiError(
                400,
                "INVALIDENTITY",
                f"InvalidEntity : Entity '{body.get('object')}' is not supported by the Bulk API.",
                None,
            )
        delimiter = str(body.get("columnDelimiter") or "COMMA")
        line_ending = str(body.get("lineEnding") or "LF")
        if delimiter not in _DELIMITERS or line_ending not in ("LF", "CRLF"):
            raise SfApiError(400, "INVALIDJOB", "InvalidJob : Invalid CSV options", None)
        if body.get("contentType", "CSV") != "CSV":
            raise SfApiError(400, "INVALIDJOB", "InvalidJob : contentType must be CSV", None)
        job = IngestJob(
            id=self._new_id(),
            object=sobject.name,
            operation=str(operation),
            created_by=call.caller,
            version=call.version,
            delimiter=delimiter,
            line_ending=line_ending,
        )
        self.jobs[job.id] = job
        return RestResult(200, job.info())

    def _upload(self, job: IngestJob, body: Any) -> RestResult:
        if job.state != "Open":
            raise _invalid_state(job)
        if job.rows:  # Bulk API 2.0 takes one upload per job
            raise SfApiError(
                400, "INVALIDJOBSTATE", "Found multiple contents for job: <" + job.id + ">", None
            )
        text = body if isinstance(body, str) else ""
        if not text.strip():
            raise SfApiError(400, "INVALIDBATCH", "InvalidBatch : no data", None)
        if len(text.encode()) > MAX_UPLOAD_BYTES:
            raise SfApiError(400, "INVALIDBATCH", "InvalidBatch : data too large", None)
        reader = csv.DictReader(io.StringIO(text), delimiter=_DELIMITERS[job.delimiter])
        header = list(reader.fieldnames or [])
        sobject = self.store.schema[job.object]
        unknown = [h for h in header if sobject.canonical_field(h) is None]
        if unknown:
            raise SfApiError(
                400,
                "INVALIDBATCH",
                f"InvalidBatch : Field name not found : {unknown[0]}",
                None,
            )
        job.header = header
        job.rows = [dict(row) for row in reader]
        return RestResult(201)

    def _set_state(self, job: IngestJob, body: Any) -> RestResult:
        wanted = body.get("state") if isinstance(body, dict) else None
        if wanted == "UploadComplete" and job.state == "Open":
            job.state = "UploadComplete"
            if not job.rows:
                job.state, job.error_message = "Failed", "InvalidBatch : no data uploaded"
        elif wanted == "Aborted" and job.state not in FINISHED:
            job.state = "Aborted"
        else:
            raise _invalid_state(job)
        return RestResult(200, job.info())

    def _advance(self, job: IngestJob) -> None:
        """Salesforce works on a closed job in its own time: one step per look."""
        if job.state == "UploadComplete":
            job.state = "InProgress"
        elif job.state == "InProgress" and not self.held:
            self._process(job)
            job.state = "JobComplete"

    def _process(self, job: IngestJob) -> None:
        for row in job.rows:
            values = {k: v for k, v in row.items() if k not in ("Id", "id") and v != ""}
            record_id = row.get("Id") or row.get("id") or ""
            try:
                if job.operation != "update":
                    raise SfApiError(400, "INVALID_OPERATION", "operation not supported", ())
                if not record_id:
                    raise SfApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
                if self.store.get(job.object, record_id) is None:
                    raise SfApiError(400, "ENTITY_IS_DELETED", "entity is deleted", ())
                sf_rules.update(self.store, job.created_by, job.object, record_id, values)
            except SfApiError as err:
                job.failed.append((row, bulk_error(err)))
                continue
            job.succeeded.append(row)

    def _results(self, job: IngestJob, kind: str) -> RestResult:
        if kind not in ("successfulResults", "failedResults", "unprocessedrecords"):
            raise not_found()
        if kind != "unprocessedrecords" and job.state not in FINISHED:
            raise SfApiError(
                400,
                "INVALIDJOBSTATE",
                f"Job {job.id} is not complete; results are not available",
                None,
            )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if kind == "successfulResults":
            writer.writerow(["sf__Id", "sf__Created", *job.header])
            for row in job.succeeded:
                writer.writerow([row.get("Id", ""), "false", *(row.get(h, "") for h in job.header)])
        elif kind == "failedResults":
            writer.writerow(["sf__Id", "sf__Error", *job.header])
            for row, error in job.failed:
                writer.writerow([row.get("Id", ""), error, *(row.get(h, "") for h in job.header)])
        else:
            writer.writerow(job.header)
            if job.state != "JobComplete":
                for row in job.rows:
                    writer.writerow([row.get(h, "") for h in job.header])
        return RestResult(200, out.getvalue(), content_type=CSV)

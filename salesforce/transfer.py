"""Handing a leaving user's work to a successor: record owners, approvals, reports.

A few records move with sObject Collections (200 a call, ``allOrNone`` off, so one refused
record does not hold back the others); past ``BULK_THRESHOLD`` an object moves with one Bulk
API 2.0 ingest job (create, upload, close: 3 calls, then a look at the job and its failed
rows). The job is driven step by step with simple-salesforce's bulk2 client rather than its
blocking ``update()``, so the caller learns the job's Id before it finishes and can record it:
after a crash the job is looked at again, never sent twice. What still belongs to the user is
always read again from Salesforce, so a record already moved is never moved twice either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from pydantic import BaseModel, ConfigDict
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import JobState, Operation, SFBulk2Handler, _Bulk2Client
from simple_salesforce.format import format_soql

from salesforce.bulk_csv import id_rows, read_rows
from salesforce.client import SalesforceClient
from salesforce.composite import chunks
from salesforce.errors import RecordNotFound, UnknownSalesforceError
from salesforce.holdings import HeldObject, held_object

BULK_THRESHOLD = 1000  # from this many records of one object on, a Bulk API 2.0 job is cheaper
QUERY_PAGE = 100_000  # Ids per results call of a Bulk API 2.0 query job (18 bytes each)
QUERY_POLL_SECONDS = 0.2
FINISHED = (JobState.job_complete.value, JobState.failed.value, JobState.aborted.value)
APPROVALS = "ProcessInstanceWorkitem"
REPORTS = "ManagerId"
DELEGATORS = "DelegatedApproverId"


T = TypeVar("T")


class Run(Protocol):
    """Runs one blocking call in the Salesforce thread pool (the gateway's ``_run``)."""

    async def __call__(self, action: Callable[..., T], /, *args: object) -> T: ...


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class RowFailure(_Frozen):
    """One record Salesforce refused to hand over, with its code and message."""

    record_id: str
    code: str
    message: str


class Moved(_Frozen):
    """What happened to one object's records (or approvals, reports) in one step."""

    api_name: str
    moved: int = 0
    failures: tuple[RowFailure, ...] = ()

    @property
    def failed(self) -> int:
        """Rows refused."""
        return len(self.failures)


class BulkJob(_Frozen):
    """An ingest job as Salesforce reports it."""

    id: str
    state: str
    processed: int = 0
    failed: int = 0

    @property
    def finished(self) -> bool:
        """JobComplete, Failed or Aborted."""
        return self.state in FINISHED


def owned_query(held: HeldObject, user_id: str) -> str:
    """The SOQL of the records of ``held`` the user owns (and that count: open ones, say)."""
    where = f" AND {held.where}" if held.where else ""
    return format_soql(
        "SELECT Id FROM {sobject:literal} WHERE OwnerId = {owner}{extra:literal}",
        sobject=held.api_name,
        owner=user_id,
        extra=where,
    )


def first_ids(client: SalesforceClient, soql: str) -> list[str] | None:
    """A REST query's Ids; None when the first page says there are so many that one Bulk API
    2.0 query job (4 calls) reads them cheaper than a page of 2,000 per call."""
    first = client.rest("GET", "query", params={"q": soql})
    ids = [str(r["Id"]) for r in first.get("records", [])]
    if first.get("done", True):
        return ids
    if int(first.get("totalSize") or 0) >= BULK_THRESHOLD:
        return None
    page = first
    while not page.get("done", True):
        page = client.query_more(str(page["nextRecordsUrl"]))
        ids += [str(r["Id"]) for r in page.get("records", [])]
    return ids


def start_bulk_query(client: SalesforceClient, sobject: str, soql: str) -> str:
    """Create a Bulk API 2.0 query job (1 call); its Id."""
    return str(
        client.call(lambda sf: _bulk(sf, sobject).create_job(Operation.query, query=soql))["id"]
    )


def bulk_query_done(client: SalesforceClient, sobject: str, job_id: str) -> bool:
    """Whether the query job completed (1 call); a failed or aborted one raises."""
    info = client.call(lambda sf: _bulk(sf, sobject).get_job(job_id, True))
    state = str(info.get("state"))
    if state in FINISHED and state != JobState.job_complete.value:
        raise UnknownSalesforceError(f"Bulk API query job {job_id} ended {state}", error_code=state)
    return state == JobState.job_complete.value


def bulk_query_page(
    client: SalesforceClient, sobject: str, job_id: str, locator: str
) -> tuple[list[str], str]:
    """One page of a completed query job's Ids and the locator of the next ("" at the end)."""
    page = client.call(
        lambda sf: _bulk(sf, sobject).get_query_results(job_id, locator, max_records=QUERY_PAGE)
    )
    ids = [row["Id"] for row in read_rows(page.get("records", ""))]
    return ids, str(page.get("locator") or "")


async def bulk_query_ids(run: Run, client: SalesforceClient, sobject: str, soql: str) -> list[str]:
    """Every Id a Bulk API 2.0 query job returns (create, look until complete, read results).

    Each step is one short call through ``run`` (the gateway's thread pool); the waiting in
    between happens on the event loop, so no pool thread sits idle while Salesforce works."""
    job_id = await run(start_bulk_query, client, sobject, soql)
    while True:
        if await run(bulk_query_done, client, sobject, job_id):
            break
        await asyncio.sleep(QUERY_POLL_SECONDS)
    ids: list[str] = []
    locator = ""
    while True:
        page, locator = await run(bulk_query_page, client, sobject, job_id, locator)
        ids += page
        if not locator:
            return ids


async def held_ids(run: Run, client: SalesforceClient, what: str, user_id: str) -> list[str]:
    """What still points at the user: records of an object it owns, its approvals, its
    reports (``ManagerId``) or delegators (``DelegatedApproverId``)."""
    if what in (APPROVALS, REPORTS, DELEGATORS):
        return await run(pointing_at, client, what, user_id)
    held = held_object(what)
    if held is None:
        raise RecordNotFound(f"no object {what!r} to hand over", error_code="INVALID_TYPE")
    soql = owned_query(held, user_id)
    ids = await run(first_ids, client, soql)
    if ids is not None:
        return ids
    return await bulk_query_ids(run, client, held.api_name, soql)


def pointing_at(client: SalesforceClient, what: str, user_id: str) -> list[str]:
    """Approval work items waiting on the user, or active users whose ``what`` is the user."""
    if what == APPROVALS:
        soql = format_soql("SELECT Id FROM ProcessInstanceWorkitem WHERE ActorId = {}", user_id)
    else:
        soql = format_soql(
            "SELECT Id FROM User WHERE {field:literal} = {user} AND IsActive = true",
            field=what if what in (REPORTS, DELEGATORS) else "Id",
            user=user_id,
        )
    return [str(r["Id"]) for r in client.query(soql)]


def field_of(api_name: str) -> tuple[str, str]:
    """The object whose records are written, and the field that names the user."""
    if api_name == APPROVALS:
        return APPROVALS, "ActorId"
    if api_name in (REPORTS, DELEGATORS):
        return "User", api_name
    return api_name, "OwnerId"


def move_records(
    client: SalesforceClient, api_name: str, ids: Sequence[str], successor_id: str
) -> Moved:
    """Point these records at the successor with sObject Collections (200 a call)."""
    sobject, name = field_of(api_name)
    moved = 0
    failures: list[RowFailure] = []
    for part in chunks(list(ids)):
        records = [{"attributes": {"type": sobject}, "id": i, name: successor_id} for i in part]
        for record_id, result in zip(part, client.update_records(records), strict=True):
            if result.success:
                moved += 1
                continue
            error = result.errors[0] if result.errors else None
            failures.append(
                RowFailure(
                    record_id=record_id,
                    code=error.code if error else "UNKNOWN",
                    message=error.message if error else "refused",
                )
            )
    return Moved(api_name=api_name, moved=moved, failures=tuple(failures))


def _bulk(sf: Salesforce, sobject: str) -> _Bulk2Client:
    handler = SFBulk2Handler(sf.session_id, sf.bulk2_url, session=sf.session)
    return _Bulk2Client(sobject, sf.bulk2_url, handler.headers, sf.session)


def start_bulk_move(
    client: SalesforceClient, api_name: str, ids: Sequence[str], successor_id: str
) -> str:
    """Open an update job, upload ``Id,<field>`` rows and close it (3 calls); its Id."""
    sobject, name = field_of(api_name)
    upload = id_rows(["Id", name], ([i, successor_id] for i in ids))

    def start(sf: Salesforce) -> str:
        jobs = _bulk(sf, sobject)
        job_id = str(jobs.create_job(Operation.update)["id"])
        try:
            jobs.upload_job_data(job_id, upload)
            jobs.close_job(job_id)
        except Exception:
            jobs.abort_job(job_id, False)
            raise
        return job_id

    return client.call(start)


def bulk_job(client: SalesforceClient, api_name: str, job_id: str) -> BulkJob:
    """The job's state and counts (1 call)."""
    info = client.call(lambda sf: _bulk(sf, field_of(api_name)[0]).get_job(job_id, False))
    return BulkJob(
        id=job_id,
        state=str(info.get("state", "")),
        processed=int(info.get("numberRecordsProcessed") or 0),
        failed=int(info.get("numberRecordsFailed") or 0),
    )


def parse_bulk_error(text: str) -> tuple[str, str]:
    """``CODE:message:fields --`` as (code, message)."""
    code, _, rest = text.partition(":")
    message = rest.removesuffix("--").rstrip()
    message, _, _fields = message.rpartition(":") if ":" in message else (message, "", "")
    return code, message


def bulk_failures(client: SalesforceClient, api_name: str, job_id: str) -> tuple[RowFailure, ...]:
    """The rows a finished job refused, with Salesforce's message (1 call)."""
    sobject = field_of(api_name)[0]
    text = client.call(lambda sf: _bulk(sf, sobject).get_ingest_results(job_id, "failedResults"))
    failures = []
    for row in read_rows(text):
        code, message = parse_bulk_error(row.get("sf__Error", ""))
        failures.append(
            RowFailure(record_id=row.get("sf__Id") or row.get("Id", ""), code=code, message=message)
        )
    return tuple(failures)


class Manager(_Frozen):
    """A user's Salesforce Manager (ManagerId) and whether they are active."""

    id: str
    is_active: bool


def manager_of(client: SalesforceClient, user_id: str) -> Manager | None:
    """The user's Manager, if the user names one (1 query)."""
    rows = client.query(
        format_soql("SELECT ManagerId, Manager.IsActive FROM User WHERE Id = {}", user_id)
    )
    if not rows or not rows[0].get("ManagerId"):
        return None
    manager = rows[0].get("Manager") or {}
    return Manager(id=str(rows[0]["ManagerId"]), is_active=bool(manager.get("IsActive")))

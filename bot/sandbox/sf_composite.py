"""Composite (up to 25 subrequests, ``@{ref.path}`` references) and sObject Collections."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox import sf_rules
from bot.sandbox.sf_calls import Call, RestResult
from bot.sandbox.sf_errors import PROCESSING_HALTED, ROLLED_BACK_MESSAGE, SfApiError
from bot.sandbox.sf_schema import SObjectType
from bot.sandbox.sf_store import Store

MAX_SUBREQUESTS = 25
MAX_QUERIES_AND_COLLECTIONS = 5
MAX_COLLECTION_RECORDS = 200
_REFERENCE = re.compile(r"@\{([^}]+)\}")
_SUBREQUEST_URL = re.compile(r"^/services/data/v(\d+\.\d+)(/.*)$")
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    "fields": [],
}


class Dispatcher(Protocol):
    """The REST dispatcher as composite and collections use it."""

    store: Store

    def handle(self, call: Call) -> RestResult:
        """Answer one call."""
        ...

    def sobject(self, name: str) -> SObjectType:
        """The object called ``name`` or NOT_FOUND."""
        ...

    def retrieve(
        self, sobject: str, record_id: str, wanted: str | None, version: str
    ) -> dict[str, Any]:
        """One record by Id."""
        ...


class MissingReference(LookupError):
    """A ``@{ref.path}`` that names no earlier result."""


def _lookup(expression: str, results: dict[str, Any]) -> Any:
    name, _, rest = expression.partition(".")
    name, bracket, index_rest = name.partition("[")
    path = (bracket + index_rest + ("." if rest else "") + rest) if bracket else rest
    try:
        value = results[name]
        for index, key in re.findall(r"\[(\d+)\]|([^.\[\]]+)", path):
            value = value[int(index)] if index else value[key]
    except (KeyError, IndexError, TypeError) as err:
        raise MissingReference(expression) from err
    return value


def _substitute(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), results)
        return _REFERENCE.sub(lambda m: str(_lookup(m.group(1), results)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    return value


def _halted(message: str) -> list[dict[str, str]]:
    return [{"errorCode": PROCESSING_HALTED, "message": message}]


def _entry(ref: str, result: RestResult) -> dict[str, Any]:
    return {
        "body": result.body,
        "httpHeaders": dict(result.headers),
        "httpStatusCode": result.status,
        "referenceId": ref,
    }


def _is_query_or_collection(url: str) -> bool:
    return bool(re.search(r"/(query|queryAll|composite/sobjects)(/|\?|$)", url))


def composite(api: Dispatcher, call: Call) -> RestResult:
    """POST /composite: run subrequests in order; with allOrNone a failure rolls all back."""
    body = call.body if isinstance(call.body, dict) else {}
    subrequests = body.get("compositeRequest")
    if not isinstance(subrequests, list) or not subrequests:
        raise SfApiError(400, "JSON_PARSER_ERROR", "compositeRequest is required", None)
    if len(subrequests) > MAX_SUBREQUESTS:
        raise SfApiError(
            400, "LIMIT_EXCEEDED", f"Composite request limit exceeded ({MAX_SUBREQUESTS})", None
        )
    heavy = sum(1 for s in subrequests if _is_query_or_collection(str(s.get("url", ""))))
    if heavy > MAX_QUERIES_AND_COLLECTIONS:
        raise SfApiError(
            400,
            "LIMIT_EXCEEDED",
            f"Composite request can contain up to {MAX_QUERIES_AND_COLLECTIONS} sObject "
            "Collections or query operations",
            None,
        )
    all_or_none = bool(body.get("allOrNone", False))
    snapshot = api.store.snapshot() if all_or_none else None
    results: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    failed_at: int | None = None
    for position, sub in enumerate(subrequests):
        ref = str(sub.get("referenceId", ""))
        if failed_at is not None and all_or_none:
            entries.append(_entry(ref, RestResult(400, _halted(ROLLED_BACK_MESSAGE))))
            continue
        result = _run_subrequest(api, call, sub, results)
        entries.append(_entry(ref, result))
        if result.status < 300:
            results[ref] = result.body
        elif failed_at is None:
            failed_at = position
    if all_or_none and failed_at is not None and snapshot is not None:
        api.store.restore(snapshot)
        for position, entry in enumerate(entries):
            if position != failed_at:
                entry.update(body=_halted(ROLLED_BACK_MESSAGE), httpHeaders={}, httpStatusCode=400)
    return RestResult(200, {"compositeResponse": entries})


def _run_subrequest(
    api: Dispatcher, call: Call, sub: dict[str, Any], results: dict[str, Any]
) -> RestResult:
    try:
        url = _substitute(str(sub.get("url", "")), results)
        sub_body = _substitute(sub.get("body"), results)
    except MissingReference as missing:
        return RestResult(
            400,
            _halted(
                f"Invalid reference specified. No value for {missing.args[0]} found. "
                "Provided referenceId ensure it is correct."
            ),
        )
    parts = urlsplit(url)
    match = _SUBREQUEST_URL.match(parts.path)
    if match is None or match.group(2).rstrip("/") == "/composite":
        return RestResult(400, SfApiError(400, "INVALID_URL", f"Invalid URL: {url}", None).body())
    sub_call = Call(
        method=str(sub.get("method", "GET")).upper(),
        path=match.group(2),
        query=dict(parse_qsl(parts.query)),
        body=sub_body,
        version=match.group(1),
        caller=call.caller,
    )
    return api.handle(sub_call)


def collections(api: Dispatcher, call: Call, type_name: str | None) -> RestResult:
    """/composite/sobjects[/{type}]: create, update, delete or retrieve up to 200 records."""
    method = call.method.upper()
    body = call.body if isinstance(call.body, dict) else {}
    if type_name is not None and method in ("GET", "POST"):
        source = call.query if method == "GET" else body
        raw_ids = source.get("ids", "")
        ids = raw_ids.split(",") if isinstance(raw_ids, str) else list(raw_ids)
        fields = source.get("fields", "")
        wanted = fields if isinstance(fields, str) else ",".join(fields)
        sobject = api.sobject(type_name).name
        records: list[dict[str, Any] | None] = []
        for record_id in (i for i in ids if i):
            try:
                records.append(api.retrieve(sobject, record_id, wanted or None, call.version))
            except SfApiError:
                records.append(None)
        return RestResult(200, records)
    if method == "DELETE":
        items: list[Any] = [i for i in call.query.get("ids", "").split(",") if i]
        all_or_none = call.query.get("allOrNone", "false").lower() == "true"
    elif method in ("POST", "PATCH"):
        items = list(body.get("records") or [])
        all_or_none = bool(body.get("allOrNone", False))
    else:
        raise SfApiError(404, "NOT_FOUND", "The requested resource does not exist", None)
    if len(items) > MAX_COLLECTION_RECORDS:
        raise SfApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    operations: dict[str, Callable[[Dispatcher, Call, Any], str]] = {
        "POST": _create_one,
        "PATCH": _update_one,
        "DELETE": _delete_one,
    }
    operation = operations[method]
    return RestResult(
        200, _apply_all(api.store, items, all_or_none, lambda i: operation(api, call, i))
    )


def _apply_all(
    store: Store, items: list[Any], all_or_none: bool, apply: Callable[[Any], str]
) -> list[dict[str, Any]]:
    snapshot = store.snapshot() if all_or_none else None
    outcomes: list[dict[str, Any]] = []
    for item in items:
        try:
            outcomes.append({"id": apply(item), "success": True, "errors": []})
        except SfApiError as err:
            outcomes.append({"success": False, "errors": [err.collection_error()]})
    if snapshot is not None and any(not o["success"] for o in outcomes):
        store.restore(snapshot)
        for outcome in outcomes:
            if outcome["success"]:
                outcome.update(success=False, errors=[dict(_ROLLED_BACK)])
    return outcomes


def _type_of(api: Dispatcher, record: dict[str, Any]) -> str:
    type_name = (record.get("attributes") or {}).get("type")
    if not type_name:
        raise SfApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    try:
        return api.sobject(str(type_name)).name
    except SfApiError as err:
        raise SfApiError(
            400, "INVALID_TYPE", f"sObject type '{type_name}' is not supported."
        ) from err


def _create_one(api: Dispatcher, call: Call, record: dict[str, Any]) -> str:
    return sf_rules.create(api.store, call.caller, _type_of(api, record), dict(record))


def _update_one(api: Dispatcher, call: Call, record: dict[str, Any]) -> str:
    record_id = str(record.get("id") or record.get("Id") or "")
    if not record_id:
        raise SfApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
    values = {k: v for k, v in record.items() if k not in ("id", "Id")}
    try:
        sf_rules.update(api.store, call.caller, _type_of(api, record), record_id, values)
    except SfApiError as err:
        if err.status == 404:
            raise SfApiError(400, "ENTITY_IS_DELETED", "entity is deleted") from err
        raise
    return record_id


def _delete_one(api: Dispatcher, call: Call, record_id: str) -> str:
    sobject = api.store.type_of(record_id)
    if sobject is None:
        raise SfApiError(400, "MALFORMED_ID", f"malformed id {record_id}")
    try:
        sf_rules.delete(api.store, call.caller, sobject.name, record_id)
    except SfApiError as err:
        if err.status == 404:
            raise SfApiError(400, "ENTITY_IS_DELETED", "entity is deleted") from err
        raise
    return record_id

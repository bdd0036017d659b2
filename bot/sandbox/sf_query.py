"""Running a parsed SOQL query over the simulated org's records, rendered as the REST API does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cmp_to_key, lru_cache
from typing import Any, Protocol

from bot.sandbox.sf_soql_ast import (
    Comparison,
    Condition,
    FieldPath,
    InList,
    Literal,
    Not,
    OrderItem,
    Query,
)

Row = Mapping[str, Any]


class RecordSource(Protocol):
    """What the evaluator reads: rows of an object and single rows by Id."""

    def rows(self, sobject: str) -> Iterable[Row]:
        """Every row of ``sobject`` in insertion order."""
        ...

    def get(self, sobject: str, record_id: str) -> Row | None:
        """The row with this Id, if any."""
        ...


def attributes(sobject: str, record_id: Any, version: str) -> dict[str, str]:
    """The ``attributes`` object every REST record carries."""
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def resolve(source: RecordSource, sobject: str, row: Row, path: FieldPath) -> Any:
    """The value at ``path`` from ``row``; None when a lookup on the way is empty."""
    current: Row | None = row
    for hop in path.hops:
        ref = current.get(hop.field) if current is not None else None
        current = source.get(hop.target, ref) if ref else None
        if current is None:
            return None
    return current.get(path.field) if current is not None else None


def _equal(left: Any, right: Literal) -> bool:
    # SOQL compares text case-insensitively (Username = 'JANE@x' finds jane@x).
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return bool(left == right)


@lru_cache(maxsize=256)
def _folded(values: tuple[Literal, ...]) -> frozenset[str] | None:
    """An IN list of text as a set (one lookup per row, not one comparison per value)."""
    if all(isinstance(v, str) for v in values):
        return frozenset(str(v).casefold() for v in values)
    return None


def _compare(left: Any, op: str, right: Literal) -> bool:
    if op == "=":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if left is None or right is None:
        return False
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.casefold(), right.casefold()
    try:
        return bool(
            {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
        )
    except TypeError:
        return False


def matches(source: RecordSource, sobject: str, row: Row, cond: Condition | None) -> bool:
    """True when ``row`` satisfies ``cond`` (no condition matches everything)."""
    if cond is None:
        return True
    if isinstance(cond, Comparison):
        return _compare(resolve(source, sobject, row, cond.path), cond.op, cond.value)
    if isinstance(cond, InList):
        value = resolve(source, sobject, row, cond.path)
        folded = _folded(cond.values)
        if folded is not None and isinstance(value, str):
            found = value.casefold() in folded
        else:
            found = any(_equal(value, v) for v in cond.values)
        return found != cond.negated
    if isinstance(cond, Not):
        return not matches(source, sobject, row, cond.part)
    results = (matches(source, sobject, row, part) for part in cond.parts)
    return all(results) if cond.op == "AND" else any(results)


def _sort_key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _ordered(source: RecordSource, query: Query, rows: list[Row]) -> list[Row]:
    def cmp(a: Row, b: Row) -> int:
        for item in query.order:
            result = _cmp_item(source, query.sobject.name, item, a, b)
            if result:
                return result
        return 0

    return sorted(rows, key=cmp_to_key(cmp)) if query.order else rows


def _cmp_item(source: RecordSource, sobject: str, item: OrderItem, a: Row, b: Row) -> int:
    left = _sort_key(resolve(source, sobject, a, item.path))
    right = _sort_key(resolve(source, sobject, b, item.path))
    if left is None or right is None:
        if left is right:
            return 0
        first = -1 if left is None else 1
        return -first if item.nulls_last else first
    result = int(left > right) - int(left < right)
    return -result if item.descending else result


def render(
    source: RecordSource, sobject: str, row: Row, fields: Iterable[FieldPath], version: str
) -> dict[str, Any]:
    """One query record: selected fields, parent lookups as nested records or null."""
    out: dict[str, Any] = {"attributes": attributes(sobject, row.get("Id"), version)}
    for path in fields:
        target = out
        current: Row | None = row
        current_type = sobject
        for hop in path.hops:
            ref = current.get(hop.field) if current is not None else None
            current = source.get(hop.target, ref) if ref else None
            current_type = hop.target
            if current is None:
                target.setdefault(hop.name, None)
                break
            nested = target.get(hop.name)
            if nested is None:
                nested = {"attributes": attributes(current_type, current.get("Id"), version)}
                target[hop.name] = nested
            target = nested
        else:
            target[path.field] = current.get(path.field) if current is not None else None
    return out


def count_rows(source: RecordSource, query: Query) -> int:
    """How many rows ``query`` (a ``SELECT COUNT()``) matches, capped by its LIMIT."""
    name = query.sobject.name
    found = sum(1 for row in source.rows(name) if matches(source, name, row, query.where))
    return found if query.limit is None else min(found, query.limit)


def aggregate(source: RecordSource, query: Query) -> list[dict[str, Any]]:
    """One AggregateResult per group (or one in all without GROUP BY), COUNT(field) counting
    the rows where the field is not null; grouped fields appear under their own names."""
    name = query.sobject.name
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in source.rows(name):
        if matches(source, name, row, query.where):
            key = tuple(resolve(source, name, row, p) for p in query.group_by)
            groups.setdefault(key, []).append(row)
    if not query.group_by and not groups:
        groups[()] = []
    out: list[dict[str, Any]] = []
    for key, members in groups.items():
        record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for path, value in zip(query.group_by, key, strict=True):
            record[path.field] = value
        for path, alias in query.aggregates:
            record[alias] = sum(1 for m in members if resolve(source, name, m, path) is not None)
        out.append(record)
    return out if query.limit is None else out[: query.limit]


def execute(source: RecordSource, query: Query, version: str) -> list[dict[str, Any]]:
    """All records ``query`` selects, filtered, ordered, limited and rendered."""
    name = query.sobject.name
    rows = [row for row in source.rows(name) if matches(source, name, row, query.where)]
    rows = _ordered(source, query, rows)
    if query.limit is not None:
        rows = rows[: query.limit]
    return [render(source, name, row, query.fields, version) for row in rows]

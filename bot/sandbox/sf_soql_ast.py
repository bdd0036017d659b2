"""SOQL tokens and the parsed query tree of the simulated org's SOQL subset."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.sandbox.sf_errors import malformed_query
from bot.sandbox.sf_schema import Relationship, SObjectType

Literal = str | int | float | bool | None

_TOKEN = re.compile(
    r"""\s*(?:
     (?P<string>'(?:[^'\\\n]|\\.)*')
    |(?P<number>-?\d+(?:\.\d+)?(?![\w.-]))
    |(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<punct>[(),])
    |(?P<word>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_KEYWORDS = frozenset(
    (
        *("SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "ORDER", "GROUP", "BY"),
        *("ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "TRUE", "FALSE", "NULL"),
    )
)


@dataclass(frozen=True)
class Token:
    """One lexical token and where it starts in the query text."""

    kind: str
    text: str
    pos: int

    @property
    def keyword(self) -> str | None:
        """The upper-cased keyword this word is, if it is one."""
        upper = self.text.upper()
        return upper if self.kind == "word" and upper in _KEYWORDS else None


@dataclass(frozen=True)
class FieldPath:
    """A field, possibly reached through parent relationships."""

    hops: tuple[Relationship, ...]
    field: str

    @property
    def names(self) -> tuple[str, ...]:
        """The path as canonical names, e.g. ``("UserLicense", "Name")``."""
        return (*(h.name for h in self.hops), self.field)


@dataclass(frozen=True)
class Comparison:
    """``path op value``."""

    path: FieldPath
    op: str
    value: Literal


@dataclass(frozen=True)
class InList:
    """``path [NOT] IN (values)``."""

    path: FieldPath
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class BoolOp:
    """Conditions joined by one operator, ``AND`` or ``OR``."""

    op: str
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """``NOT condition``."""

    part: Condition


Condition = Comparison | InList | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key."""

    path: FieldPath
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    """A parsed, schema-checked query."""

    sobject: SObjectType
    fields: tuple[FieldPath, ...]
    where: Condition | None
    order: tuple[OrderItem, ...]
    limit: int | None
    count: bool = False  # SELECT COUNT(): only the number of matching rows comes back
    aggregates: tuple[tuple[FieldPath, str], ...] = ()  # COUNT(field) and its alias (expr0...)
    group_by: tuple[FieldPath, ...] = ()


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; an unknown character is a MALFORMED_QUERY."""
    tokens: list[Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            tokens.append(Token("eof", "<EOF>", pos))
            return tokens
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            bad = text[pos:].split(maxsplit=1)[0]
            raise malformed_query(text, pos, f"unexpected token: {bad}")
        tokens.append(
            Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup))
        )
        pos = match.end()


def unescape(literal: str, query: str, pos: int) -> str:
    """The value of a quoted SOQL string, refusing escapes SOQL does not know."""
    out: list[str] = []
    body = literal[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise malformed_query(
                    query,
                    pos,
                    f"Invalid string literal '{literal}'. Illegal escape sequence '\\{nxt}'",
                )
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)

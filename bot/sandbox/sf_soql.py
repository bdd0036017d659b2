"""A small, honest SOQL subset: parse SELECT ... FROM ... [WHERE] [ORDER BY] [LIMIT] or refuse.

Supported: field lists with parent-relationship paths (``UserLicense.Name``), ``=``, ``!=``,
``<``, ``<=``, ``>``, ``>=``, ``[NOT] IN (...)``, ``AND``/``OR`` (mixing them needs
parentheses, as in a real org), ``NOT``, ``null``, ``true``/``false``, quoted strings with the
SOQL escapes, numbers, ``ORDER BY ... [ASC|DESC] [NULLS FIRST|LAST]``, ``LIMIT`` and
``SELECT COUNT()`` (alone in the field list, as Salesforce requires), ``COUNT(field) [alias]``
with ``GROUP BY`` (every other field selected must be grouped, as in a real org).
Anything else is answered with the MALFORMED_QUERY body a real org sends.
"""

from __future__ import annotations

from bot.sandbox.sf_errors import SfApiError, malformed_query, query_error
from bot.sandbox.sf_schema import Relationship, SObjectType, canonical_type
from bot.sandbox.sf_soql_ast import (
    BoolOp,
    Comparison,
    Condition,
    FieldPath,
    InList,
    Literal,
    Not,
    OrderItem,
    Query,
    Token,
    tokenize,
    unescape,
)

_INTEGER_FIELDS = frozenset({"TotalLicenses", "UsedLicenses"})


def field_kind(name: str) -> str:
    """The literal type a field compares with: boolean, integer or string."""
    if name.startswith(("Is", "Permissions")):
        return "boolean"
    return "integer" if name in _INTEGER_FIELDS else "string"


class _Parser:
    def __init__(self, text: str, schema: dict[str, SObjectType]) -> None:
        self.text = text
        self.schema = schema
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, token: Token | None = None) -> SfApiError:
        token = token or self.tok
        return malformed_query(self.text, token.pos, f"unexpected token: {token.text}")

    def take(self) -> Token:
        token = self.tok
        self.i += 1
        return token

    def expect_keyword(self, *words: str) -> str:
        if self.tok.keyword not in words:
            raise self.fail()
        return self.take().text.upper()

    def accept_keyword(self, word: str) -> bool:
        if self.tok.keyword == word:
            self.i += 1
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if self.tok.text != char:
            raise self.fail()
        self.i += 1

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        counting = self.count_call()
        raw_fields: list[Token] = []
        raw_counts: list[tuple[Token, str]] = []
        if not counting:
            self.select_item(raw_fields, raw_counts)
        while not counting and self.tok.text == ",":
            self.i += 1
            self.select_item(raw_fields, raw_counts)
        self.expect_keyword("FROM")
        name_tok = self.take() if self.tok.keyword == "GROUP" else self.take_word()
        sobject = canonical_type(self.schema, name_tok.text)
        if sobject is None:
            raise query_error(
                "INVALID_TYPE",
                self.text,
                name_tok.pos,
                f"sObject type '{name_tok.text}' is not supported. If you are attempting to use "
                "a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        self.sobject = sobject
        fields = tuple(self.resolve(t) for t in raw_fields)
        seen: set[str] = set()
        for token, path in zip(raw_fields, fields, strict=True):
            key = ".".join(path.names).casefold()
            if key in seen:
                raise malformed_query(
                    self.text, token.pos, f"duplicate field selected: {token.text}"
                )
            seen.add(key)
        counts = tuple((self.resolve(t), alias) for t, alias in raw_counts)
        where = self.condition() if self.accept_keyword("WHERE") else None
        group_by = self.group_by() if self.accept_keyword("GROUP") else ()
        if counts or group_by:
            grouped = {".".join(p.names).casefold() for p in group_by}
            for token, path in zip(raw_fields, fields, strict=True):
                if ".".join(path.names).casefold() not in grouped:
                    raise malformed_query(
                        self.text, token.pos, f"Field must be grouped or aggregated: {token.text}"
                    )
        plain = not (counting or counts or group_by)
        order = self.order_by() if plain and self.accept_keyword("ORDER") else ()
        limit = None
        if self.accept_keyword("LIMIT"):
            if self.tok.kind != "number" or not self.tok.text.isdigit():
                raise self.fail()
            limit = int(self.take().text)
        if self.tok.kind != "eof":
            raise self.fail()
        return Query(sobject, fields, where, order, limit, counting, counts, group_by)

    def select_item(self, fields: list[Token], counts: list[tuple[Token, str]]) -> None:
        """A field, or ``COUNT(field) [alias]`` (unnamed ones are expr0, expr1, ...)."""
        if self.tok.text.upper() == "COUNT" and self.tokens[self.i + 1].text == "(":
            self.i += 2
            field = self.take_word()
            self.expect_punct(")")
            alias = f"expr{len(counts)}"
            if self.tok.kind == "word" and self.tok.keyword is None:
                alias = self.take().text
            counts.append((field, alias))
            return
        fields.append(self.take_word())

    def group_by(self) -> tuple[FieldPath, ...]:
        self.expect_keyword("BY")
        paths = [self.resolve(self.take_word())]
        while self.tok.text == ",":
            self.i += 1
            paths.append(self.resolve(self.take_word()))
        return tuple(paths)

    def count_call(self) -> bool:
        """``COUNT()`` as the whole field list (``COUNT(field)`` is an aggregate)."""
        if self.tok.kind != "word" or self.tok.text.upper() != "COUNT":
            return False
        if self.tokens[self.i + 1].text != "(" or self.tokens[self.i + 2].text != ")":
            return False
        self.i += 3
        return True

    def take_word(self) -> Token:
        if self.tok.kind != "word" or self.tok.keyword is not None:
            raise self.fail()
        return self.take()

    def resolve(self, token: Token) -> FieldPath:
        current = self.sobject
        parts = token.text.split(".")
        hops: list[Relationship] = []
        for part in parts[:-1]:
            rel = current.relationship(part)
            if rel is None:
                raise query_error(
                    "INVALID_FIELD",
                    self.text,
                    token.pos,
                    f"Didn't understand relationship '{part}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' after "
                    "the custom relationship name. Please reference your WSDL or the describe "
                    "call for the appropriate names.",
                )
            hops.append(rel)
            current = self.schema[rel.target]
        field = current.canonical_field(parts[-1])
        if field is None:
            raise query_error(
                "INVALID_FIELD",
                self.text,
                token.pos,
                f"No such column '{parts[-1]}' on entity '{current.name}'. If you are attempting "
                "to use a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
            )
        return FieldPath(tuple(hops), field)

    def condition(self) -> Condition:
        parts = [self.factor()]
        joiner: str | None = None
        while self.tok.keyword in ("AND", "OR"):
            if joiner is not None and self.tok.keyword != joiner:
                raise self.fail()
            joiner = self.take().text.upper()
            parts.append(self.factor())
        return parts[0] if joiner is None else BoolOp(joiner, tuple(parts))

    def factor(self) -> Condition:
        if self.accept_keyword("NOT"):
            return Not(self.factor())
        if self.tok.text == "(":
            self.i += 1
            inner = self.condition()
            self.expect_punct(")")
            return inner
        field_tok = self.take_word()
        path = self.resolve(field_tok)
        if self.tok.keyword in ("IN", "NOT"):
            negated = self.accept_keyword("NOT")
            self.expect_keyword("IN")
            self.expect_punct("(")
            values = [self.value(path)]
            while self.tok.text == ",":
                self.i += 1
                values.append(self.value(path))
            self.expect_punct(")")
            return InList(path, tuple(values), negated)
        if self.tok.kind != "op":
            raise self.fail()
        op = self.take().text
        return Comparison(path, "!=" if op == "<>" else op, self.value(path))

    def value(self, path: FieldPath) -> Literal:
        token = self.take()
        kind = field_kind(path.field)
        if token.keyword == "NULL":
            return None
        if token.keyword in ("TRUE", "FALSE") and kind == "boolean":
            return token.keyword == "TRUE"
        if token.kind == "string" and kind == "string":
            return unescape(token.text, self.text, token.pos)
        if token.kind == "number" and kind == "integer":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind in ("string", "number") or token.keyword in ("TRUE", "FALSE"):
            quoting = "be enclosed in quotes" if kind == "string" else "not be enclosed in quotes"
            raise query_error(
                "INVALID_FIELD",
                self.text,
                token.pos,
                f"value of filter criterion for field '{path.field}' must be of type {kind} "
                f"and should {quoting}",
            )
        raise self.fail(token)

    def order_by(self) -> tuple[OrderItem, ...]:
        self.expect_keyword("BY")
        items = [self.order_item()]
        while self.tok.text == ",":
            self.i += 1
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        path = self.resolve(self.take_word())
        descending = False
        if self.tok.keyword in ("ASC", "DESC"):
            descending = self.take().text.upper() == "DESC"
        nulls_last = False
        if self.accept_keyword("NULLS"):
            nulls_last = self.expect_keyword("FIRST", "LAST") == "LAST"
        return OrderItem(path, descending, nulls_last)


def parse(text: str, schema: dict[str, SObjectType]) -> Query:
    """Parse and schema-check ``text``; raise the real org's error body when it cannot."""
    return _Parser(text, schema).parse()

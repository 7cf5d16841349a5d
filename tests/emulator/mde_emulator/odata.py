# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small OData v4 ``$filter`` parser and evaluator, plus ``$top``/``$skip`` paging.

Supported: ``eq ne gt ge lt le``, ``and or not``, parentheses, string literals with ``''``
escaping, datetime literals (``2024-01-01T00:00:00Z``, ``2018-08-01Z``, fractions, offsets),
numbers, ``true``/``false``/``null``, ``startswith/endswith/contains(prop, 'x')`` and
``collection/any(t: t eq 'x')``. Only the properties an entity declares filterable are allowed,
as the real service rejects the others with 400 ODataError.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable

from .clock import parse_iso
from .errors import odata_error

MAX_TOP = 10000

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2})?(?![\w.-]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w-]))
  | (?P<punct>[(),:])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
""", re.VERBOSE)

_COMPARE = ("eq", "ne", "gt", "ge", "lt", "le")
_FUNCTIONS = ("startswith", "endswith", "contains")


@dataclass
class Tok:
    kind: str
    value: Any
    pos: int


@dataclass
class Schema:
    """Filterable properties of an entity: name -> 'string' | 'istring' | 'datetime' | 'number' | 'bool' | 'collection'.

    ``istring`` compares case-insensitively (names and hex ids)."""
    entity: str
    filterable: dict[str, str]
    known: tuple[str, ...] = ()


def tokenize(text: str) -> list[Tok]:
    tokens = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise odata_error("Syntax error at position %d in '%s'." % (pos, text))
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "string":
            tokens.append(Tok("literal", raw[1:-1].replace("''", "'"), pos))
        elif kind == "datetime":
            tokens.append(Tok("datetime", parse_iso(raw), pos))
        elif kind == "number":
            tokens.append(Tok("literal", float(raw) if "." in raw else int(raw), pos))
        elif kind == "punct":
            tokens.append(Tok(raw, raw, pos))
        elif kind == "name":
            lowered = raw.lower()
            if lowered in ("true", "false"):
                tokens.append(Tok("literal", lowered == "true", pos))
            elif lowered == "null":
                tokens.append(Tok("literal", None, pos))
            elif raw in _COMPARE or raw in ("and", "or", "not"):
                tokens.append(Tok("op", raw, pos))
            else:
                tokens.append(Tok("name", raw, pos))
        pos = match.end()
    tokens.append(Tok("end", None, len(text)))
    return tokens


Predicate = Callable[[dict], bool]


class _Parser:
    def __init__(self, text: str, schema: Schema) -> None:
        self.text = text
        self.schema = schema
        self.tokens = tokenize(text)
        self.index = 0
        self.lambda_var: str | None = None

    def peek(self) -> Tok:
        return self.tokens[self.index]

    def take(self, kind: str | None = None, value: str | None = None) -> Tok:
        tok = self.tokens[self.index]
        if (kind and tok.kind != kind) or (value and tok.value != value):
            expected = value or kind
            raise odata_error("Syntax error at position %d in '%s': expected %s." % (tok.pos, self.text, expected))
        self.index += 1
        return tok

    def parse(self) -> Predicate:
        predicate = self.parse_or()
        if self.peek().kind != "end":
            raise odata_error("Syntax error at position %d in '%s'." % (self.peek().pos, self.text))
        return predicate

    def parse_or(self) -> Predicate:
        left = self.parse_and()
        while self.peek().kind == "op" and self.peek().value == "or":
            self.take()
            right = self.parse_and()
            left = _either(left, right)
        return left

    def parse_and(self) -> Predicate:
        left = self.parse_unary()
        while self.peek().kind == "op" and self.peek().value == "and":
            self.take()
            right = self.parse_unary()
            left = _both(left, right)
        return left

    def parse_unary(self) -> Predicate:
        if self.peek().kind == "op" and self.peek().value == "not":
            self.take()
            inner = self.parse_unary()
            return lambda e: not inner(e)
        if self.peek().kind == "(":
            self.take("(")
            inner = self.parse_or()
            self.take(")")
            return inner
        return self.parse_comparison()

    def property_type(self, name: str) -> str:
        return _property(self.schema, name, "$filter")

    def parse_comparison(self) -> Predicate:
        tok = self.peek()
        if tok.kind == "name" and tok.value.lower() in _FUNCTIONS and self.tokens[self.index + 1].kind == "(":
            return self.parse_function()
        if tok.kind == "name" and "/" in tok.value:
            return self.parse_any()
        prop = self.take("name").value
        if self.lambda_var is not None and prop == self.lambda_var:
            ptype = "string"
        else:
            ptype = self.property_type(prop)
        op = self.take("op").value
        if op not in _COMPARE:
            raise odata_error("Syntax error in '%s': expected a comparison operator after '%s'." % (self.text, prop))
        literal = self.next_literal()
        value = _coerce(prop, ptype, literal)
        getter = _getter(prop, self.lambda_var)
        return lambda e: _compare(op, _normalize(ptype, getter(e)), value)

    def next_literal(self) -> Tok:
        tok = self.peek()
        if tok.kind not in ("literal", "datetime"):
            raise odata_error("Syntax error at position %d in '%s': expected a literal." % (tok.pos, self.text))
        return self.take()

    def parse_function(self) -> Predicate:
        func = self.take("name").value.lower()
        self.take("(")
        prop = self.take("name").value
        ptype = self.property_type(prop)
        self.take(",")
        literal = self.next_literal()
        self.take(")")
        if ptype not in ("string", "istring") or not isinstance(literal.value, str):
            raise odata_error("%s requires a string property and literal." % func)
        needle = literal.value.lower() if ptype == "istring" else literal.value
        getter = _getter(prop, None)

        def check(entity: dict) -> bool:
            value = getter(entity)
            if not isinstance(value, str):
                return False
            value = value.lower() if ptype == "istring" else value
            if func == "startswith":
                return value.startswith(needle)
            if func == "endswith":
                return value.endswith(needle)
            return needle in value
        return check

    def parse_any(self) -> Predicate:
        path = self.take("name").value
        prop, _sep, func = path.partition("/")
        if func.lower() not in ("any", "all") or self.property_type(prop) != "collection":
            raise odata_error("Unsupported path '%s'." % path)
        self.take("(")
        var = self.take("name").value
        self.take(":")
        outer, self.lambda_var = self.lambda_var, var
        inner = self.parse_or()
        self.lambda_var = outer
        self.take(")")
        quantifier = any if func.lower() == "any" else all

        def check(entity: dict) -> bool:
            items = entity.get(prop) or []
            return quantifier(inner({var: item}) for item in items)
        return check


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda entity: left(entity) or right(entity)


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda entity: left(entity) and right(entity)


def _getter(prop: str, lambda_var: str | None) -> Callable[[dict], Any]:
    if lambda_var is not None and prop == lambda_var:
        return lambda e: e.get(lambda_var)
    return lambda e: e.get(prop)


def _coerce(prop: str, ptype: str, tok: Tok) -> Any:
    if tok.value is None:
        return None
    if ptype == "datetime":
        if tok.kind != "datetime":
            raise odata_error("A binary operator with incompatible types was detected. "
                              "Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind 'Equal' on '%s'." % prop)
        return tok.value
    if ptype in ("string", "istring"):
        if not isinstance(tok.value, str) or tok.kind == "datetime":
            raise odata_error("A binary operator with incompatible types was detected "
                              "for property '%s' (Edm.String)." % prop)
        return tok.value.lower() if ptype == "istring" else tok.value
    if ptype == "number":
        if isinstance(tok.value, bool) or not isinstance(tok.value, (int, float)):
            raise odata_error("Property '%s' is numeric." % prop)
        return tok.value
    if ptype == "bool":
        if not isinstance(tok.value, bool):
            raise odata_error("Property '%s' is Edm.Boolean." % prop)
        return tok.value
    raise odata_error("Property '%s' cannot be compared." % prop)


def _normalize(ptype: str, value: Any) -> Any:
    if value is None:
        return None
    if ptype == "datetime":
        return parse_iso(value) if isinstance(value, str) else float(value)
    if ptype == "istring" and isinstance(value, str):
        return value.lower()
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return left > right
        if op == "ge":
            return left >= right
        if op == "lt":
            return left < right
        return left <= right
    except TypeError:
        return False


def compile_filter(text: str, schema: Schema) -> Predicate:
    return _Parser(text, schema).parse()


def _int_option(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise odata_error("Invalid value '%s' for %s query option found." % (raw, name)) from None
    if value < 0:
        raise odata_error("Invalid value '%s' for %s query option found. The %s query option "
                          "requires a non-negative integer value." % (raw, name, name))
    return value


# Query options the service takes. Other OData system options are "not allowed", and any other
# option starting with '$' is refused as a custom one (microsoft-365-docs #12682, '$stop').
ACCEPTED_OPTIONS = ("$filter", "$top", "$skip", "$orderby", "$select", "$count", "$format")
REFUSED_SYSTEM_OPTIONS = {"$expand": "Expand", "$search": "Search", "$apply": "Apply", "$compute": "Compute",
                          "$skiptoken": "SkipToken", "$deltatoken": "DeltaToken", "$levels": "Levels", "$index": "Index"}
_ORDERBY_ITEM_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?\s*$")


@dataclass
class Query:
    """The checked OData options of one collection request."""
    top: int | None = None
    skip: int = 0
    predicate: Predicate | None = None
    order: list[tuple[str, str, bool]] | None = None  # (property, type, descending)
    select: list[str] | None = None


def _check_options(params: dict[str, str]) -> None:
    for name in params:
        if not name.startswith("$") or name in ACCEPTED_OPTIONS:
            continue
        if name in REFUSED_SYSTEM_OPTIONS:
            raise odata_error("Query option '%s' is not allowed. To allow it, set the 'AllowedQueryOptions' property on "
                              "EnableQueryAttribute or QueryValidationSettings." % REFUSED_SYSTEM_OPTIONS[name])
        raise odata_error("Custom query option '%s' that starts with '$' is not supported." % name)


def _property(schema: Schema, name: str, option: str) -> str:
    """The filter type of a property usable in ``option``; errors as for $filter otherwise."""
    if name in schema.filterable:
        return schema.filterable[name]
    if name in schema.known:
        raise odata_error("The property '%s' cannot be used in the %s query option." % (name, option))
    raise odata_error("Could not find a property named '%s' on type 'microsoft.windowsDefenderATP.api.%s'." % (name, schema.entity))


def _parse_orderby(text: str, schema: Schema) -> list[tuple[str, str, bool]]:
    order = []
    position = 0
    for item in text.split(","):
        found = _ORDERBY_ITEM_RE.match(item)
        if not found:
            raise odata_error("Syntax error at position %d in '%s'." % (position + len(item) - len(item.lstrip()), text))
        name, direction = found.group(1), found.group(2)
        ptype = _property(schema, name, "$orderby")
        if ptype == "collection":
            raise odata_error("The $orderby expression must evaluate to a single value of primitive type.")
        order.append((name, ptype, direction == "desc"))
        position += len(item) + 1
    return order


def _parse_select(text: str, schema: Schema) -> list[str] | None:
    names = [n.strip() for n in text.split(",")]
    if "*" in names:
        return None
    for name in names:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise odata_error("Syntax error at position %d in '%s'." % (text.find(name), text))
        if name not in schema.filterable and name not in schema.known:
            raise odata_error("Could not find a property named '%s' on type 'microsoft.windowsDefenderATP.api.%s'."
                              % (name, schema.entity))
    return names


def parse_query(params: dict[str, str], schema: Schema) -> Query:
    """Check every OData option before anything is read (400 in the OData shape otherwise)."""
    _check_options(params)
    query = Query()
    query.top = _int_option(params, "$top")
    if query.top is not None and query.top > MAX_TOP:
        raise odata_error("The limit of '%d' for Top query has been exceeded. The value "
                          "from the incoming request is '%d'." % (MAX_TOP, query.top))
    query.skip = _int_option(params, "$skip") or 0
    if params.get("$filter", "").strip():
        query.predicate = compile_filter(params["$filter"], schema)
    if params.get("$orderby", "").strip():
        query.order = _parse_orderby(params["$orderby"], schema)
    if params.get("$select", "").strip():
        query.select = _parse_select(params["$select"], schema)
    count = params.get("$count")
    if count is not None and count.strip().lower() not in ("true", "false"):
        raise odata_error("'%s' is not a valid count option." % count)
    return query


def _sort(items: list[dict], order: list[tuple[str, str, bool]]) -> list[dict]:
    # Stable sorts from the last key to the first; nulls sort first ascending, as in OData.
    for name, ptype, descending in reversed(order):
        items = sorted(items, key=lambda e, n=name, t=ptype: _sort_key(_normalize(t, e.get(n))), reverse=descending)
    return items


def _sort_key(value: Any) -> tuple:
    # (False, 0) for null: the tuple never compares a null with a value of the property's type.
    return (value is not None, value if value is not None else 0)


def query_collection(items: list[dict], params: dict[str, str], schema: Schema, page_size: int,
                     next_link_base: str, ignore_paging: bool = False) -> tuple[list[dict], str | None, list[str] | None]:
    """Filter, order, skip and page ``items`` (already in service order).

    Returns (page, nextLink or None, the $select names or None). ``ignore_paging``: $top and $skip are
    checked but not applied, and the whole set comes back in one answer.
    """
    query = parse_query(params, schema)
    if query.predicate is not None:
        items = [item for item in items if query.predicate(item)]
    if query.order:
        items = _sort(items, query.order)
    page, next_link = _page(items, query, params, page_size, next_link_base, ignore_paging)
    if query.select is not None:
        page = [{name: item[name] for name in query.select if name in item} for item in page]
    return page, next_link, query.select


def _page(items: list[dict], query: Query, params: dict[str, str], page_size: int, next_link_base: str,
          ignore_paging: bool) -> tuple[list[dict], str | None]:
    if ignore_paging:
        return items, None
    items = items[query.skip:]
    if query.top is not None:
        # $top answers exactly what was asked for and never carries a nextLink (microsoft-365-docs #8489).
        return items[:query.top], None
    page = items[:page_size]
    if len(items) > len(page):
        link_query = [(k, v) for k, v in params.items() if k != "$skip"]
        link_query.append(("$skip", str(query.skip + len(page))))
        return page, next_link_base + "?" + urllib.parse.urlencode(link_query, quote_via=urllib.parse.quote, safe="$'(),:")
    return page, None

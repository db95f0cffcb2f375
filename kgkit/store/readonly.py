"""The read-only query guard: what ``store.query(write=False)`` and ``kgkit query`` refuse.

Schema inspection stays allowed: ``SHOW INDEXES``/``SHOW CONSTRAINTS`` and the procedures of
:data:`DEFAULT_ALLOWED_PROCEDURES`.

The servers already refuse writes inside a read transaction, but a read transaction can still do
harm: ``LOAD CSV FROM 'http://...'`` fetches any URL from the server (request forgery),
administration commands (``TERMINATE TRANSACTIONS``, ``SHOW USERS``, ``CREATE USER`` ...) run on
Neo4j, procedures can do anything, deeply nested list literals make FalkorDB's parser run in
exponential time (the server's timeout does not cover parsing) and ``range(1, 100000000000)`` makes
FalkorDB allocate the whole list before its memory cap is checked. So before a read-only query is
sent, :func:`check_read_only_query` tokenizes it (string literals, backtick names and comments
are skipped, so a keyword inside a string is never refused) and refuses these with a message that
names the way out (``--write`` or the allow-list).

Example:
    >>> check_read_only_query("MATCH (n) WHERE n.name = 'LOAD CSV' RETURN n")
    >>> check_read_only_query("LOAD CSV FROM 'http://example.org' AS row RETURN row")
    Traceback (most recent call last):
    ...
    kgkit.errors.ReadOnlyQueryError: read-only queries may not use LOAD CSV (it reads files and URLs from the server); rerun with --write (write=True) if you mean it
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kgkit.errors import QueryBudgetError, ReadOnlyQueryError

__all__ = [
    "DEFAULT_ALLOWED_PROCEDURES",
    "MAX_NESTING",
    "MAX_RANGE_ELEMENTS",
    "Token",
    "check_read_only_query",
    "tokenize",
]

#: procedures a read-only query may CALL; a name ending in ``.*`` allows everything below it.
DEFAULT_ALLOWED_PROCEDURES: tuple[str, ...] = (
    "db.labels", "db.relationshipTypes", "db.propertyKeys", "db.indexes", "db.constraints",
    "db.schema.*", "db.idx.fulltext.queryNodes", "db.idx.fulltext.queryRelationships",
    "db.index.fulltext.queryNodes", "db.index.fulltext.queryRelationships", "dbms.components",
)

#: brackets/parentheses/braces nested deeper than this are refused. FalkorDB 4.16 parses nested
#: list literals in exponential time (depth 20: 5 s, depth 30: minutes, the whole server blocked).
MAX_NESTING = 16

#: the longest ``range()`` a read-only FalkorDB query may build (160 MB of list at 16 B/element).
MAX_RANGE_ELEMENTS = 10_000_000

_ADMIN_WORDS = {"TERMINATE", "SHOW", "GRANT", "DENY", "REVOKE", "ALTER", "RENAME", "DROP",
                "DEALLOCATE", "REALLOCATE", "ENABLE", "DRYRUN"}
_ADMIN_OBJECTS = {"USER", "USERS", "ROLE", "ROLES", "DATABASE", "DATABASES", "ALIAS", "COMPOSITE",
                  "SERVER", "SERVERS", "INDEX", "CONSTRAINT", "FULLTEXT", "LOOKUP", "RANGE", "TEXT",
                  "POINT", "VECTOR", "OR"}
_SCHEMA_NOUNS = {"INDEX", "INDEXES", "CONSTRAINT", "CONSTRAINTS"}
_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "word", "number", "param", "punct"; strings/backtick names/comments are dropped
    text: str


_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^'\\]|\\.)*(?:'|\Z)|"(?:[^"\\]|\\.)*(?:"|\Z))
  | (?P<quoted>`(?:[^`]|``)*(?:`|\Z))
  | (?P<param>\$(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|`(?:[^`]|``)*`))
  | (?P<number>(?:0x[0-9A-Fa-f_]+|0o[0-7_]+|[0-9][0-9_]*(?:\.[0-9_]+)?(?:[eE][+-]?[0-9]+)?))
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize(cypher: str) -> list[Token]:
    """Split Cypher into tokens, dropping whitespace, comments, string literals and backtick names.

    A dropped string or backtick name leaves a ``word`` token ``"<literal>"`` so that the
    structure around it (e.g. ``CALL `db.labels```) stays visible.
    """
    tokens: list[Token] = []
    for m in _TOKEN_RE.finditer(cypher):
        kind = m.lastgroup or "punct"
        if kind in ("space", "comment"):
            continue
        if kind in ("string", "quoted"):
            tokens.append(Token("literal", m.group()))
        else:
            tokens.append(Token(kind, m.group()))
    return tokens


def check_read_only_query(
    cypher: str,
    params: Mapping[str, Any] | None = None,
    *,
    allowed_procedures: Iterable[str] = DEFAULT_ALLOWED_PROCEDURES,
    max_nesting: int = MAX_NESTING,
    max_range: int | None = None,
) -> None:
    """Refuse what a read-only query must not do; return None when the query may run.

    Args:
        cypher: the query.
        params: its parameters (used to size ``range($from, $to)``).
        allowed_procedures: procedure names a ``CALL`` may name (``prefix.*`` allows a namespace).
        max_nesting: deepest allowed nesting of ``(``, ``[`` and ``{``.
        max_range: when set, refuse ``range()`` calls that would build more elements, or whose
            bounds cannot be sized before running (FalkorDB builds ranges eagerly).

    Raises:
        ReadOnlyQueryError: LOAD CSV, an administration command or a procedure outside the list.
        QueryBudgetError: nesting deeper than ``max_nesting`` or a ``range()`` over ``max_range``.
    """
    tokens = tokenize(cypher)
    _check_nesting(tokens, max_nesting)
    allowed = tuple(allowed_procedures)
    for i, tok in enumerate(tokens):
        if tok.kind != "word" or _is_name_position(tokens, i):
            continue
        word = tok.text.upper()
        nxt = _upper(tokens, i + 1)
        if word == "LOAD" and nxt == "CSV":
            raise ReadOnlyQueryError(
                "read-only queries may not use LOAD CSV (it reads files and URLs from the server); "
                "rerun with --write (write=True) if you mean it"
            )
        if word == "SHOW" and _shows_schema(tokens, i):
            continue
        if word in _ADMIN_WORDS or (word in ("START", "STOP") and nxt in ("DATABASE", "SERVER")) or (
            word == "CREATE" and nxt in _ADMIN_OBJECTS
        ):
            raise ReadOnlyQueryError(
                f"read-only queries may not run administration commands ({tok.text} ...); "
                "rerun with --write (write=True) if you mean it"
            )
        if word == "CALL":
            _check_call(tokens, i, allowed)
        if max_range is not None and word == "RANGE" and _upper(tokens, i + 1) == "(":
            _check_range(tokens, i + 1, params or {}, max_range)


def _upper(tokens: list[Token], i: int) -> str:
    return tokens[i].text.upper() if 0 <= i < len(tokens) else ""


def _shows_schema(tokens: list[Token], i: int) -> bool:
    """``SHOW [ALL|RANGE|NODE KEY ...] INDEXES|CONSTRAINTS``: schema inspection, like ``db.indexes``."""
    for tok in tokens[i + 1:i + 6]:
        if tok.kind != "word":
            return False
        if tok.text.upper() in _SCHEMA_NOUNS:
            return True
    return False


def _is_name_position(tokens: list[Token], i: int) -> bool:
    """A property (``n.show``), label/type (``:Drop``) or map key (``{show: 1}``), not a keyword."""
    prev = tokens[i - 1].text if i > 0 else ""
    nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
    if prev == "." and not (i >= 2 and tokens[i - 2].text.upper() == "CALL"):
        return True
    return prev == ":" or (nxt == ":" and prev in ("{", ","))


def _check_nesting(tokens: list[Token], max_nesting: int) -> None:
    depth = 0
    for tok in tokens:
        if tok.kind != "punct":
            continue
        if tok.text in _OPEN:
            depth += 1
            if depth > max_nesting:
                raise QueryBudgetError(
                    f"the query nests brackets deeper than {max_nesting} levels, which can take the "
                    "server's parser exponential time; flatten the expression (or pass it as a $parameter)"
                )
        elif tok.text in _CLOSE:
            depth = max(depth - 1, 0)


def _check_call(tokens: list[Token], i: int, allowed: tuple[str, ...]) -> None:
    nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
    if nxt in ("{", "("):  # CALL { ... } / CALL (x) { ... }: a subquery, checked token by token
        return
    parts: list[str] = []
    j = i + 1
    while j < len(tokens) and tokens[j].kind in ("word", "literal"):
        parts.append(tokens[j].text.strip("`"))
        if j + 1 < len(tokens) and tokens[j + 1].text == ".":
            j += 2
            continue
        break
    name = ".".join(parts)
    if not name or not _allowed(name, allowed):
        raise ReadOnlyQueryError(
            f"read-only queries may only CALL these procedures: {', '.join(allowed)}; "
            f"{name or 'this procedure'!s} is not one of them. Rerun with --write (write=True) if you mean it"
        )


def _allowed(name: str, allowed: tuple[str, ...]) -> bool:
    low = name.lower()
    for pattern in allowed:
        p = pattern.lower()
        if p.endswith(".*") and low.startswith(p[:-1]) or low == p:
            return True
    return False


def _check_range(tokens: list[Token], open_at: int, params: Mapping[str, Any], max_range: int) -> None:
    args: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens[open_at + 1:]:
        if tok.text in _OPEN:
            depth += 1
        elif tok.text in _CLOSE:
            if depth == 0:
                break
            depth -= 1
        elif tok.text == "," and depth == 0:
            args.append([])
            continue
        args[-1].append(tok)
    values = [_int_value(arg, params) for arg in args]
    if len(values) in (2, 3) and all(v is not None for v in values):
        start, end = values[0], values[1]
        step = values[2] if len(values) == 3 else 1
        assert start is not None and end is not None and step is not None
        size = 0 if step == 0 else max((end - start) // step + 1, 0)
        if size <= max_range:
            return
        raise QueryBudgetError(
            f"range() would build {size:,} elements; read-only queries may build at most {max_range:,} "
            "(the embedded server allocates the whole list at once). Narrow the range"
        )
    if any(_may_be_large(arg) for arg in args):
        raise QueryBudgetError(
            "range() bounds computed with *, ^ or from strings cannot be sized before the query runs; read-only queries "
            f"may build at most {max_range:,} elements. Pass the bounds as literals or $parameters"
        )


def _int_value(arg: list[Token], params: Mapping[str, Any]) -> int | None:
    sign = 1
    if len(arg) == 2 and arg[0].text in "+-":
        sign, arg = (-1 if arg[0].text == "-" else 1), arg[1:]
    if len(arg) != 1:
        return None
    tok = arg[0]
    if tok.kind == "number":
        try:
            return sign * int(tok.text.replace("_", ""), 0)
        except ValueError:
            return None
    if tok.kind == "param":
        value = params.get(tok.text[1:].strip("`"))
        return sign * value if isinstance(value, int) and not isinstance(value, bool) else None
    return None


def _may_be_large(arg: list[Token]) -> bool:
    """An unsized bound is allowed unless it multiplies, exponentiates, parses a string or names a large number."""
    for tok in arg:
        if tok.text in ("*", "^") or tok.kind == "literal":
            return True
        if tok.kind == "number":
            try:
                value = float(int(tok.text.replace("_", ""), 0)) if tok.text[:2].lower() in ("0x", "0o") else float(tok.text.replace("_", ""))
            except ValueError:
                return True
            if abs(value) > MAX_RANGE_ELEMENTS:
                return True
    return False

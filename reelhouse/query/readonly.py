"""Read-only gate: parses Trino SQL and admits only queries, before anything reaches an engine.

Admitted: ``SELECT``, ``WITH ... SELECT``, set operations (``UNION``/``INTERSECT``/``EXCEPT``),
``VALUES``, ``SHOW ...``, ``DESCRIBE <table>`` and ``EXPLAIN [ANALYZE] <query>``. Everything
else (writes, DDL, ``COPY``, ``ATTACH``, ``INSTALL``/``LOAD``, ``SET``/``PRAGMA``, ``CALL``, ``USE``,
transactions, several statements at once) raises :class:`ReadOnlyViolation`. Table functions
(``read_csv('/etc/passwd')``, ``TABLE(system.query(...))``) are rejected too: a query may only
name tables, and each engine checks those names against what it serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from reelhouse.query.errors import QueryError, ReadOnlyViolation

__all__ = ["Statement", "StatementKind", "check_read_only", "DIALECT"]

DIALECT = "trino"

StatementKind = Literal["query", "describe", "show", "explain"]

_QUERY_STARTS = frozenset({"SELECT", "WITH", "VALUES", "("})
_ALLOWED_HINT = "only SELECT / WITH ... SELECT / UNION / VALUES / SHOW / DESCRIBE / EXPLAIN <query> may run"

# Node types that never belong inside a query; looked up by name because sqlglot releases
# add and rename some of them.
_FORBIDDEN_NODE_NAMES = (
    "DML", "DDL", "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Copy",
    "Command", "Set", "Pragma", "Use", "Transaction", "Commit", "Rollback", "Grant", "Revoke",
    "TruncateTable", "Comment", "Analyze", "Refresh", "Attach", "Detach", "Install", "Load",
    "LoadData", "Lock", "Into",
)
_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name) for name in _FORBIDDEN_NODE_NAMES if isinstance(getattr(exp, name, None), type)
)
_QUERY_ROOTS: tuple[type[exp.Expression], ...] = (exp.Query, exp.Values, exp.Subquery)


class _StatementTokenizer(Trino.Tokenizer):
    """Trino's tokenizer, except that SHOW/EXPLAIN/CALL... are tokenized like any statement.

    sqlglot folds the rest of a "command" statement into one string token, which hides a
    ``;`` and the words after ``SHOW``; splitting needs every token with its offsets.
    """

    COMMANDS: set[TokenType] = set()


@dataclass(frozen=True)
class Statement:
    """One admitted read-only statement.

    Attributes:
        kind: ``query`` (tree is the query), ``describe`` (tree is the ``exp.Table``),
            ``show`` (``show`` holds the words after ``SHOW``), ``explain`` (tree is the inner
            query, ``explain_options`` the words between ``EXPLAIN`` and the query).
        text: the original SQL, stripped, without a trailing semicolon.
        tree: sqlglot tree in the Trino dialect (``None`` for ``show``).
        show: for ``show``, the statement after ``SHOW`` (e.g. ``TABLES FROM iceberg.features``).
        explain_options: for ``explain``, e.g. ``ANALYZE`` or ``(TYPE DISTRIBUTED)``; else ``""``.
        bound: ``True`` once ``:name`` parameters were bound into ``tree`` (``text`` then still
            holds the placeholders).
    """

    kind: StatementKind
    text: str
    tree: exp.Expression | None = None
    show: str = ""
    explain_options: str = ""
    bound: bool = False


def check_read_only(sql: str) -> Statement:
    """Parse ``sql`` as Trino SQL and admit it only if it is a single read-only statement.

    Args:
        sql: one Trino-dialect statement; a trailing semicolon is allowed.

    Returns:
        The admitted :class:`Statement`.

    Raises:
        ReadOnlyViolation: the SQL writes, changes session or catalog state, reads files
            through a table function, or holds more than one statement.
        QueryError: the SQL is empty or is not valid Trino SQL.
    """
    text, tokens = _single_statement(sql)
    head = tokens[0].text.upper()
    if head in _QUERY_STARTS:
        return Statement("query", text.strip(), tree=_parse_query(text))
    if head in ("DESCRIBE", "DESC"):
        return Statement("describe", text.strip(), tree=_parse_describe(text, tokens))
    if head == "SHOW":
        return Statement("show", text.strip(), show=text[tokens[1].start :].strip() if len(tokens) > 1 else "")
    if head == "EXPLAIN":
        first, options = _split_explain(text, tokens)
        if first >= len(tokens):
            raise QueryError("EXPLAIN needs a query to explain")
        inner_head = tokens[first].text.upper()
        if inner_head not in _QUERY_STARTS:
            raise ReadOnlyViolation(f"EXPLAIN of a {inner_head} statement is not allowed: {_ALLOWED_HINT}")
        inner = text[tokens[first].start :]
        return Statement("explain", text.strip(), tree=_parse_query(inner), explain_options=options)
    raise ReadOnlyViolation(f"{head} statements are not allowed: the SQL surface is read-only; {_ALLOWED_HINT}")


def _single_statement(sql: str) -> tuple[str, list[Token]]:
    """Strip one trailing semicolon; reject empty input and multiple statements."""
    if not sql or not sql.strip():
        raise QueryError("empty SQL: nothing to run")
    try:
        tokens = _StatementTokenizer().tokenize(sql)
    except TokenError as err:
        raise QueryError(f"cannot tokenize SQL: {err}") from err
    while tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        tokens.pop()
    if not tokens:
        raise QueryError("empty SQL: nothing to run")
    if any(tok.token_type == TokenType.SEMICOLON for tok in tokens):
        raise ReadOnlyViolation("multiple statements are not allowed: send exactly one query")
    # Keep the offsets of ``tokens`` valid: cut only the tail.
    return sql[: tokens[-1].end + 1], tokens


def _parse_query(text: str) -> exp.Expression:
    """Parse a query and check every node in it."""
    try:
        tree = sqlglot.parse_one(text, read=DIALECT, error_level=sqlglot.ErrorLevel.RAISE)
    except ParseError as err:
        raise QueryError(f"not valid Trino SQL: {_first_line(err)}") from err
    if not isinstance(tree, _QUERY_ROOTS):
        raise ReadOnlyViolation(f"{type(tree).__name__.upper()} is not a query: {_ALLOWED_HINT}")
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise ReadOnlyViolation(
                f"{type(node).__name__.upper()} inside a query is not allowed: the SQL surface is read-only"
            )
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            raise ReadOnlyViolation(
                f"table function {_function_name(node.this)!r} is not allowed: "
                "only the registered Iceberg tables may be referenced"
            )
    return tree


def _parse_describe(text: str, tokens: list[Token]) -> exp.Expression:
    """``DESCRIBE <table>``; Trino's ``DESCRIBE INPUT/OUTPUT`` need prepared statements, not offered here."""
    if len(tokens) > 1 and tokens[1].text.upper() in ("INPUT", "OUTPUT"):
        raise QueryError("DESCRIBE INPUT/OUTPUT is not supported: prepared statements are not offered")
    try:
        tree = sqlglot.parse_one(text, read=DIALECT, error_level=sqlglot.ErrorLevel.RAISE)
    except ParseError as err:
        raise QueryError(f"not valid Trino SQL: {_first_line(err)}") from err
    target = tree.this if isinstance(tree, exp.Describe) else None
    if not isinstance(target, exp.Table) or not isinstance(target.this, exp.Identifier):
        raise QueryError("DESCRIBE takes a table name, e.g. DESCRIBE iceberg.features.shots")
    return target


def _split_explain(text: str, tokens: list[Token]) -> tuple[int, str]:
    """Split ``EXPLAIN [ANALYZE] [VERBOSE] [(options)] <query>``: index of the query's first token, options."""
    i = 1
    while i < len(tokens) and tokens[i].text.upper() in ("ANALYZE", "VERBOSE"):
        i += 1
    if i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN and i + 1 < len(tokens) \
            and tokens[i + 1].text.upper() in ("TYPE", "FORMAT"):
        depth = 0
        while i < len(tokens):
            depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tokens[i].token_type, 0)
            i += 1
            if depth == 0:
                break
    end = tokens[i].start if i < len(tokens) else len(text)
    options = text[tokens[1].start : end].strip() if i > 1 else ""
    return i, options


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        name = node.name
        inner = node.expressions[0] if node.expressions else None
        if name.upper() == "TABLE" and inner is not None:
            return f"TABLE({inner.sql(DIALECT)})"[:80]
        return name
    if isinstance(node, exp.Func):
        return node.sql_name()
    return node.sql(DIALECT)[:80]


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0]

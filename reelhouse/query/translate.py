"""Trino → DuckDB translation: sqlglot's transpiler plus the rewrites it lacks for our analysts.

sqlglot maps most Trino functions (``approx_percentile``, ``regexp_like``, ``cardinality``,
``transform``, ``date_trunc``, ...). The rewrites here cover what it leaves invalid on DuckDB
1.5; constructs with no DuckDB equivalent raise :class:`UnsupportedQueryError` naming them.

| Trino                                | DuckDB                                   |
| ------------------------------------ | ---------------------------------------- |
| ``cosine_similarity(a, b)`` (arrays) | ``list_cosine_similarity(a, b)``         |
| ``dot_product(a, b)``                | ``list_dot_product(a, b)``               |
| ``format('%02d', ...)``              | ``printf('%02d', ...)``                  |
| ``width_bucket(x, lo, hi, n)``       | an equivalent ``CASE`` expression        |
| ``reduce(a, s0, f, s -> s)``         | ``list_reduce(a, f, s0)``                |
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import UnsupportedError

from reelhouse.query.errors import UnsupportedQueryError

__all__ = ["to_duckdb", "UNSUPPORTED_FUNCTIONS"]

#: Trino functions with no DuckDB 1.5 counterpart, and what to do instead.
UNSUPPORTED_FUNCTIONS: dict[str, str] = {
    "ZIP_WITH": "combine the arrays with transform() over sequence(1, cardinality(a)) instead",
    "MAP_AGG": "aggregate with array_agg() instead",
    "MAP_UNION": "no map aggregation exists on the embedded engine",
    "TDIGEST_AGG": "use approx_percentile() instead",
    "QDIGEST_AGG": "use approx_percentile() instead",
}

_UNSUPPORTED_NODES: dict[str, str] = {
    "MatchRecognize": "MATCH_RECOGNIZE",
}

_RENAMES = {"COSINE_SIMILARITY": "LIST_COSINE_SIMILARITY"}

TableResolver = Callable[[exp.Table], exp.Expression]


def to_duckdb(tree: exp.Expression, resolve_table: TableResolver | None = None) -> str:
    """Render a Trino-dialect tree as DuckDB SQL.

    Args:
        tree: parsed (and parameter-bound) Trino statement; not modified.
        resolve_table: called for every table reference that is not a CTE name; returns
            the node to put in its place (a fully qualified table, or a time-travel scan).

    Raises:
        UnsupportedQueryError: the tree uses a construct DuckDB cannot run.
        UnknownTableError: raised by ``resolve_table``.
    """
    tree = tree.copy()
    _reject_unsupported(tree)
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and resolve_table is not None:
            if node.db or node.name.lower() not in ctes:
                return resolve_table(node)
            return node
        if isinstance(node, exp.Anonymous) and node.name.upper() in _RENAMES:
            return exp.Anonymous(this=_RENAMES[node.name.upper()], expressions=node.expressions)
        if isinstance(node, exp.DotProduct):
            return exp.Anonymous(this="LIST_DOT_PRODUCT", expressions=[node.this, node.expression])
        if isinstance(node, exp.Format):
            return exp.Anonymous(this="PRINTF", expressions=[node.this, *node.expressions])
        if isinstance(node, exp.WidthBucket):
            return _width_bucket(node)
        if isinstance(node, exp.Reduce) and _is_identity(node.args.get("finish")):
            node.set("finish", None)
        return node

    tree = tree.transform(rewrite, copy=False)
    _name_like_trino(tree)
    try:
        return tree.sql(dialect="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE, comments=False)
    except UnsupportedError as err:
        raise UnsupportedQueryError(f"not supported on the embedded engine (DuckDB): {err}") from err


def _name_like_trino(tree: exp.Expression) -> None:
    """Name unaliased result columns ``_col<i>`` as Trino does (DuckDB would use the expression text)."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    for i, column in enumerate(select.expressions):
        if not isinstance(column, (exp.Alias, exp.Column, exp.Star)):
            column.replace(exp.alias_(column.copy(), f"_col{i}"))


def _reject_unsupported(tree: exp.Expression) -> None:
    for node in tree.walk():
        if isinstance(node, exp.Anonymous) and node.name.upper() in UNSUPPORTED_FUNCTIONS:
            name = node.name.upper()
            raise UnsupportedQueryError(
                f"function {name.lower()}() is not supported on the embedded engine (DuckDB): "
                f"{UNSUPPORTED_FUNCTIONS[name]}"
            )
        label = _UNSUPPORTED_NODES.get(type(node).__name__)
        if label:
            raise UnsupportedQueryError(f"{label} is not supported on the embedded engine (DuckDB)")


def _width_bucket(node: exp.WidthBucket) -> exp.Expression:
    """Trino ``width_bucket(x, lo, hi, n)`` for ``lo < hi``: 0 below, ``n + 1`` at or above ``hi``."""
    x, lo, hi, n = (node.args.get(k) for k in ("this", "min_value", "max_value", "num_buckets"))
    if any(arg is None for arg in (x, lo, hi, n)):
        raise UnsupportedQueryError("width_bucket(x, array) is not supported on the embedded engine (DuckDB)")
    inner = exp.Floor(this=exp.Div(
        this=exp.Mul(this=exp.paren(exp.Sub(this=x.copy(), expression=lo.copy())), expression=n.copy()),
        expression=exp.paren(exp.Sub(this=hi.copy(), expression=lo.copy())),
    ))
    return (
        exp.case()
        .when(exp.LT(this=x.copy(), expression=lo.copy()), exp.Literal.number(0))
        .when(exp.GTE(this=x.copy(), expression=hi.copy()), exp.Add(this=n.copy(), expression=exp.Literal.number(1)))
        .else_(exp.Add(this=exp.cast(inner, exp.DataType.build("BIGINT")), expression=exp.Literal.number(1)))
    )


def _is_identity(finish: exp.Expression | None) -> bool:
    if not isinstance(finish, exp.Lambda) or len(finish.expressions) != 1:
        return False
    body = finish.this
    return isinstance(body, (exp.Column, exp.Identifier)) and body.name == finish.expressions[0].name

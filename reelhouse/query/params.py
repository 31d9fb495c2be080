"""Named query parameters: ``:name`` placeholders bound as typed SQL literals.

Queries in ``sql/`` write parameters as ``:name`` (letters, digits, underscore). Binding
replaces each placeholder node in the parsed tree with a literal built from the Python
value, so a value can never change the statement's structure: a string such as
``x' OR 1=1 --`` becomes the single string literal ``'x'' OR 1=1 --'``. The same bound tree
is rendered for DuckDB and for Trino, so both engines see identical values.

Python value  ->  SQL literal
    None                       NULL
    bool                       TRUE / FALSE
    int                        integer literal (BIGINT range)
    float                      CAST(<repr> AS DOUBLE); NaN/inf as CAST('NaN' AS DOUBLE) etc.
    decimal.Decimal            exact decimal literal
    str                        string literal ('' escaped)
    datetime.datetime          CAST('<iso>' AS TIMESTAMP) or TIMESTAMP WITH TIME ZONE when aware
    datetime.date              CAST('<iso>' AS DATE)
    list / tuple of the above  ARRAY[...]
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Mapping

import sqlglot
from sqlglot import exp

from reelhouse.query.errors import ParameterError, QueryError
from reelhouse.query.readonly import DIALECT

__all__ = ["bind_params", "nullable_params", "required_params", "to_literal"]

#: A documented parameter line of a ``sql/`` file's header: ``--   :name  type  description``.
_DOC_LINE = re.compile(r"^--\s+:(\w+)\s+\S+\s+(.*)$")

_INT64 = (-(2**63), 2**63 - 1)


def required_params(sql: str) -> list[str]:
    """Names of the ``:name`` parameters in ``sql``, in order of first use, without repeats.

    Args:
        sql: Trino-dialect SQL.

    Raises:
        QueryError: ``sql`` is not valid Trino SQL.
        ParameterError: it uses positional ``?`` parameters.
    """
    try:
        trees = sqlglot.parse(sql, read=DIALECT, error_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as err:
        raise QueryError(f"not valid Trino SQL: {str(err).splitlines()[0]}") from err
    names: list[str] = []
    for tree in trees:
        if tree is not None:
            names.extend(n for n in _placeholder_names(tree) if n not in names)
    return names


def nullable_params(sql: str) -> list[str]:
    """Parameters that a query's header documents as optional: their description says ``NULL for ...``.

    The files in ``sql/`` document each parameter on a line ``--   :name  type  description``; a
    description containing ``NULL for`` (``NULL for every title``, ``NULL for 20``) means the query
    treats NULL as "no restriction" or "the default", so callers may leave it unbound.
    """
    found = []
    for line in sql.splitlines():
        match = _DOC_LINE.match(line.strip())
        if match and "NULL for" in match.group(2) and match.group(1) not in found:
            found.append(match.group(1))
    return found


def bind_params(tree: exp.Expression, params: Mapping[str, object] | None) -> exp.Expression:
    """Return a copy of ``tree`` with every ``:name`` placeholder replaced by a typed literal.

    Extra entries in ``params`` are ignored, so one mapping can serve several queries.

    Args:
        tree: a parsed Trino-dialect statement.
        params: values by parameter name.

    Raises:
        ParameterError: a required parameter is missing (the message lists all required
            names), a positional ``?`` is used, or a value has an unsupported type.
    """
    params = params or {}
    needed = list(dict.fromkeys(_placeholder_names(tree)))
    missing = [name for name in needed if name not in params]
    if missing:
        raise ParameterError(
            f"missing value for parameter(s) {', '.join(':' + n for n in missing)}; "
            f"this query requires: {', '.join(':' + n for n in needed)}"
        )
    if not needed:
        return tree

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.args.get("this"):
            return to_literal(params[node.name], name=node.name)
        return node

    return tree.copy().transform(replace, copy=False)


def to_literal(value: object, *, name: str = "?") -> exp.Expression:
    """Build the SQL literal for one Python value (see the module docstring for the mapping).

    Raises:
        ParameterError: the value's type has no SQL literal form here.
    """
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ParameterError(f"parameter :{name}: integer {value} is outside the BIGINT range")
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        text = repr(value) if math.isfinite(value) else {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)]
        inner = exp.Literal.number(text) if math.isfinite(value) else exp.Literal.string(text)
        return exp.cast(inner, exp.DataType.build("DOUBLE"))
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ParameterError(f"parameter :{name}: decimal {value} is not finite")
        return exp.Literal.number(format(value, "f"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMPTZ" if value.utcoffset() is not None else "TIMESTAMP"
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build(kind))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[to_literal(v, name=name) for v in value])
    raise ParameterError(
        f"parameter :{name}: values of type {type(value).__name__} cannot be bound; "
        "use None, bool, int, float, Decimal, str, date, datetime or a list of those"
    )


def _placeholder_names(tree: exp.Expression) -> list[str]:
    names = []
    for node in tree.find_all(exp.Placeholder, bfs=False):  # depth-first: the order they are written
        if not node.args.get("this"):
            raise ParameterError("positional '?' parameters are not supported; write named parameters as :name")
        names.append(node.name)
    return names

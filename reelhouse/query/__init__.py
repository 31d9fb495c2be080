"""Read-only Trino-dialect SQL over reelhouse's Iceberg tables, embedded (DuckDB) or on Trino.

Typical use::

    from reelhouse.query import open_engine, write_result

    with open_engine(settings, catalog) as engine:
        table = engine.execute("SELECT * FROM iceberg.features.shots WHERE video_id = :v", {"v": vid})
        write_result(table, "csv", sys.stdout)

Parameters are written ``:name``; see :mod:`reelhouse.query.params`.
"""

from reelhouse.query.engine import SqlEngine, open_engine, prepare
from reelhouse.query.errors import (
    ParameterError,
    QueryError,
    ReadOnlyViolation,
    UnknownTableError,
    UnsupportedQueryError,
)
from reelhouse.query.output import write_result
from reelhouse.query.params import bind_params, nullable_params, required_params
from reelhouse.query.readonly import Statement, check_read_only

__all__ = [
    "DuckDBEngine",
    "ParameterError",
    "QueryError",
    "ReadOnlyViolation",
    "SqlEngine",
    "Statement",
    "TrinoEngine",
    "UnknownTableError",
    "UnsupportedQueryError",
    "bind_params",
    "nullable_params",
    "check_read_only",
    "open_engine",
    "prepare",
    "required_params",
    "write_result",
]


def __getattr__(name: str) -> object:
    # The engines import duckdb / trino; load them only when asked for.
    if name == "DuckDBEngine":
        from reelhouse.query.duckdb_engine import DuckDBEngine

        return DuckDBEngine
    if name == "TrinoEngine":
        from reelhouse.query.trino_engine import TrinoEngine

        return TrinoEngine
    raise AttributeError(f"module 'reelhouse.query' has no attribute {name!r}")

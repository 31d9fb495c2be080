"""The engine interface every SQL backend implements, and the factory that picks one.

Analysts write Trino SQL. :class:`DuckDBEngine` runs it embedded over the Iceberg tables;
:class:`TrinoEngine` sends it to a Trino cluster. Both pass every statement through the same
read-only gate (:func:`reelhouse.query.readonly.check_read_only`) and the same ``:name``
parameter binding (:mod:`reelhouse.query.params`) before anything runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING

import pyarrow as pa

from reelhouse.query.params import bind_params
from reelhouse.query.readonly import Statement, check_read_only

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from reelhouse.config import Settings

__all__ = ["SqlEngine", "open_engine", "prepare"]

#: Default number of rows per streamed record batch.
DEFAULT_BATCH_ROWS = 65_536


def prepare(sql: str, params: Mapping[str, object] | None = None) -> Statement:
    """Admit ``sql`` through the read-only gate and bind its ``:name`` parameters.

    Raises:
        ReadOnlyViolation: ``sql`` is not a single read-only statement.
        ParameterError: a required parameter is missing or cannot be bound.
        QueryError: ``sql`` is not valid Trino SQL.
    """
    statement = check_read_only(sql)
    if statement.tree is not None and statement.kind in ("query", "explain"):
        bound = bind_params(statement.tree, params)
        if bound is not statement.tree:
            statement = replace(statement, tree=bound, bound=True)
    return statement


class SqlEngine(ABC):
    """A read-only Trino-dialect SQL engine.

    Use as a context manager, or call :meth:`close`. Every method raises
    :class:`~reelhouse.query.errors.QueryError` (or a subclass) for problems with the SQL.
    """

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, object] | None = None) -> pa.Table:
        """Run one read-only statement and return the whole result.

        Args:
            sql: Trino-dialect SQL; parameters are written ``:name``.
            params: values for the parameters, by name.
        """

    @abstractmethod
    def stream(
        self, sql: str, params: Mapping[str, object] | None = None, *, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """Run one read-only statement and yield its result in record batches.

        The returned iterator is a :class:`pyarrow.RecordBatchReader`, so ``.schema`` is known
        before the first batch (also for empty results). Consume or close it before the next call.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections and temporary files; the engine cannot be used afterwards."""

    def __enter__(self) -> SqlEngine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_engine(settings: Settings, catalog: Catalog | None = None) -> SqlEngine:
    """Open the engine named by ``settings.sql_engine``.

    Args:
        settings: reelhouse settings; ``sql_engine`` picks ``duckdb`` or ``trino``,
            ``namespace`` is the default schema, ``trino`` the cluster connection.
        catalog: the Iceberg catalog; required for ``duckdb``, unused for ``trino``.

    Raises:
        ValueError: ``duckdb`` was chosen without a catalog.
    """
    if settings.sql_engine == "trino":
        from reelhouse.query.trino_engine import TrinoEngine

        cfg = settings.trino
        return TrinoEngine(
            host=cfg.host, port=cfg.port, user=cfg.user, catalog=cfg.catalog,
            schema=settings.namespace, http_scheme=cfg.http_scheme,
        )
    if catalog is None:
        raise ValueError("the embedded duckdb engine needs the Iceberg catalog: open_engine(settings, catalog)")
    from reelhouse.query.duckdb_engine import DuckDBEngine

    return DuckDBEngine(catalog, trino_catalog=settings.trino.catalog, default_namespace=settings.namespace)

"""Trino cluster engine: the same SQL, read-only gate and parameter binding, sent to Trino.

``tests/test_trino_server.py`` runs it against a real single-node Trino (``infra/scripts/trino.sh``)
over the same store as the embedded engine and compares the answers; ``tests/test_query_trino_engine.py``
injects a recording ``connect`` to check the connection arguments and the exact statement sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import pyarrow as pa

from reelhouse.query.engine import DEFAULT_BATCH_ROWS, SqlEngine, prepare
from reelhouse.query.errors import QueryError
from reelhouse.query.readonly import DIALECT, Statement

__all__ = ["TrinoEngine", "trino_to_arrow_type"]

ConnectFn = Callable[..., Any]


class TrinoEngine(SqlEngine):
    """Trino-dialect SQL on a Trino cluster through ``trino.dbapi``.

    The SQL is sent as written (trailing semicolon removed) unless it has ``:name``
    parameters; then the bound statement is rendered back to Trino SQL with literals.

    Args:
        host: coordinator host name.
        port: coordinator port.
        user: Trino user.
        catalog: session catalog (``iceberg``).
        schema: session schema (the reelhouse namespace, ``features``).
        http_scheme: ``http`` or ``https``.
        connect: DB-API ``connect`` function; default ``trino.dbapi.connect`` (tests inject a fake).
        connect_kwargs: extra keyword arguments for ``connect`` (``auth``, ``session_properties``, ...).

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 8080,
        user: str = "reelhouse",
        catalog: str = "iceberg",
        schema: str = "features",
        http_scheme: Literal["http", "https"] = "http",
        *,
        connect: ConnectFn | None = None,
        connect_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if not host:
            raise ValueError("host must not be empty")
        if not 0 < port < 65536:
            raise ValueError(f"port must be within 1..65535, got {port}")
        if http_scheme not in ("http", "https"):
            raise ValueError(f"http_scheme must be 'http' or 'https', got {http_scheme!r}")
        if connect is None:
            try:
                from trino.dbapi import connect as trino_connect
            except ImportError as err:  # pragma: no cover - trino is a core dependency
                raise QueryError("the trino engine needs the 'trino' package (pip install trino)") from err
            connect = trino_connect
        self.connect_kwargs: dict[str, Any] = {
            "host": host, "port": port, "user": user, "catalog": catalog, "schema": schema,
            "http_scheme": http_scheme, **dict(connect_kwargs or {}),
        }
        self._connect = connect
        self._conn: Any | None = None

    def statement_sql(self, sql: str, params: Mapping[str, object] | None = None) -> str:
        """The exact SQL text this engine sends to Trino for ``sql`` (after the read-only gate)."""
        return _render(prepare(sql, params))

    def execute(self, sql: str, params: Mapping[str, object] | None = None) -> pa.Table:
        """Run one read-only statement on Trino; see :meth:`SqlEngine.execute`."""
        reader = self.stream(sql, params)
        return reader.read_all()  # type: ignore[attr-defined]

    def stream(
        self, sql: str, params: Mapping[str, object] | None = None, *, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """Run one read-only statement on Trino and stream rows as record batches (``fetchmany``)."""
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be positive, got {batch_rows}")
        text = self.statement_sql(sql, params)
        cursor = self._connection().cursor()
        try:
            cursor.execute(text)
            description = cursor.description or []
            schema = pa.schema([(col[0], trino_to_arrow_type(str(col[1]))) for col in description])
            first = cursor.fetchmany(batch_rows)
        except Exception as err:
            _close_quietly(cursor)
            raise QueryError(f"Trino rejected the query: {err}") from err

        def batches() -> Iterator[pa.RecordBatch]:
            rows = first
            try:
                while rows:
                    yield _to_batch(rows, schema)
                    rows = cursor.fetchmany(batch_rows)
            finally:
                _close_quietly(cursor)

        return pa.RecordBatchReader.from_batches(schema, batches())

    def close(self) -> None:
        """Close the DB-API connection, if one was opened."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self._connect(**self.connect_kwargs)
        return self._conn


def _render(statement: Statement) -> str:
    """Unbound statements go to Trino exactly as written; bound ones are rendered with their literals."""
    if not statement.bound or statement.tree is None:
        return statement.text
    body = statement.tree.sql(dialect=DIALECT)
    if statement.kind == "explain":
        return " ".join(part for part in ("EXPLAIN", statement.explain_options, body) if part)
    return body


_SIMPLE_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(), "tinyint": pa.int8(), "smallint": pa.int16(), "integer": pa.int32(),
    "bigint": pa.int64(), "real": pa.float32(), "double": pa.float64(), "varchar": pa.string(),
    "char": pa.string(), "date": pa.date32(), "varbinary": pa.binary(), "uuid": pa.string(), "json": pa.string(),
}


def trino_to_arrow_type(type_name: str) -> pa.DataType:
    """Arrow type for a Trino type name from ``cursor.description`` (``array(real)`` → ``list<float>``).

    Types without a clean mapping (``row``, ``map``, ``interval``, ...) become strings.
    """
    name = type_name.strip().lower()
    base = re.sub(r"\(.*\)$", "", name) if not name.startswith(("array(", "timestamp", "decimal", "time")) else name
    if base in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[base]
    if name.startswith("array(") and name.endswith(")"):
        return pa.list_(trino_to_arrow_type(name[6:-1]))
    if name.startswith("timestamp"):
        return pa.timestamp("us", tz="UTC") if "with time zone" in name else pa.timestamp("us")
    if name.startswith("decimal"):
        m = re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", name)
        return pa.decimal128(int(m[1]), int(m[2])) if m else pa.decimal128(38, 0)
    if name.startswith("time"):
        return pa.time64("us")
    return pa.string()


def _to_batch(rows: list[Any], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows))
    arrays = []
    for field, values in zip(schema, columns):
        if pa.types.is_string(field.type):
            values = tuple(v if v is None or isinstance(v, str) else str(v) for v in values)
        try:
            arrays.append(pa.array(list(values), type=field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise QueryError(f"cannot convert Trino column {field.name!r} ({field.type}) to Arrow: {err}") from err
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _close_quietly(cursor: Any) -> None:
    close = getattr(cursor, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - closing a cursor must not mask the real error
            pass

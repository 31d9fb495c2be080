"""Embedded engine: Trino SQL on DuckDB over the Iceberg tables, named as Trino names them.

On open, the engine reads each table's current metadata location from the catalog and attaches an
in-memory database named after the Trino catalog (``iceberg``), with one schema per Iceberg namespace.
``iceberg.features.shots``, ``features.shots`` and ``shots`` all resolve. What it serves is a snapshot:
call :meth:`DuckDBEngine.refresh` to see commits made after open.

The first query naming a table makes its view: it plans the table's files once with pyiceberg, at the
served snapshot, and reads exactly those data files with ``read_parquet``: ``iceberg_scan`` re-reads the
table's manifests on every query (about 0.1 s per table reference on a 10,000-title catalog), while
the planned view costs nothing per query. Only tables whose files can be read as written get this:
no delete files (reelhouse writes copy-on-write) and a single schema (no renamed or re-typed
columns); any other table gets a view over ``iceberg_scan``. Opening reads no table's manifests.

Defence in depth, after the read-only gate: when it opens, the connection gets
``allowed_directories`` = the tables' own locations, ``enable_external_access = false``
(no other file, no network, no ATTACH/INSTALL of anything else), Python replacement
scans off, and ``lock_configuration = true`` so no statement can undo those settings.

Tables in S3-compatible object storage (``s3://``, ``s3a://``) are read through DuckDB's httpfs
extension (the pip-installed ``duckdb-extension-httpfs``), with a secret built from the catalog's
pyiceberg FileIO properties (``s3.endpoint``, ``s3.access-key-id``, ``s3.secret-access-key``,
``s3.session-token``, ``s3.region``, ``s3.path-style-access``): the same credentials the writers use.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import duckdb
import pyarrow as pa
from sqlglot import exp

from reelhouse.lakehouse.catalog import s3_path_style
from reelhouse.query.engine import DEFAULT_BATCH_ROWS, SqlEngine, prepare
from reelhouse.query.errors import QueryError, UnknownTableError, UnsupportedQueryError
from reelhouse.query.readonly import DIALECT, Statement
from reelhouse.query.translate import to_duckdb

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

__all__ = ["DuckDBEngine", "IcebergTableRef"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MISSING_FUNCTION = re.compile(r"(Scalar|Aggregate|Table) Function with name (\w+) does not exist")


@dataclass(frozen=True)
class IcebergTableRef:
    """One Iceberg table as the engine serves it (a snapshot taken at open or refresh)."""

    namespace: str
    name: str
    metadata_location: str
    location: str
    snapshot_id: int | None = None


class DuckDBEngine(SqlEngine):
    """Trino-dialect SQL over Iceberg tables, embedded (DuckDB 1.5 + its iceberg extension).

    Args:
        catalog: pyiceberg catalog whose tables are served.
        trino_catalog: catalog name in fully qualified table names (``iceberg.features.shots``).
        namespaces: namespaces to serve, in the order unqualified names are looked up;
            default: every namespace of the catalog.
        snapshot_ids: time travel; pins tables (``"shots"``, ``"features.shots"`` or
            ``"iceberg.features.shots"``) to a snapshot id. Trino's
            ``FOR VERSION AS OF <id>`` / ``FOR TIMESTAMP AS OF <ts>`` work per query too.
        default_namespace: looked up first for unqualified names (Trino's session schema).

    Raises:
        ValueError: an argument is invalid or names an unknown namespace or table.
        QueryError: the iceberg extension cannot be loaded.
    """

    def __init__(
        self,
        catalog: Catalog,
        trino_catalog: str = "iceberg",
        namespaces: Sequence[str] | None = None,
        *,
        snapshot_ids: Mapping[str, int] | None = None,
        default_namespace: str | None = None,
    ) -> None:
        if not _IDENTIFIER.fullmatch(trino_catalog):
            raise ValueError(f"trino_catalog must be a plain identifier, got {trino_catalog!r}")
        self._catalog = catalog
        self._trino_catalog = trino_catalog.lower()
        self._namespaces_arg = list(namespaces) if namespaces is not None else None
        self._default_namespace = default_namespace
        self._snapshot_ids_arg = dict(snapshot_ids or {})
        self._workdir = tempfile.mkdtemp(prefix="reelhouse-duckdb-")
        self._con: duckdb.DuckDBPyConnection | None = None
        self._tables: dict[tuple[str, str], IcebergTableRef] = {}
        self._viewed: set[tuple[str, str]] = set()  # tables whose view exists (made on first use)
        self._plan_lock = threading.Lock()
        self._namespaces: list[str] = []
        try:
            self.refresh()
        except BaseException:
            self.close()
            raise

    # Public API --------------------------------------------------------------------
    @property
    def tables(self) -> list[str]:
        """Fully qualified names of the served tables, e.g. ``iceberg.features.shots``."""
        return sorted(f"{self._trino_catalog}.{ns}.{name}" for ns, name in self._tables)

    def table_ref(self, name: str) -> IcebergTableRef:
        """The served snapshot of a table given by a 1-, 2- or 3-part name."""
        return self._tables[self._resolve_name(name.split("."))]

    def refresh(self) -> None:
        """Re-read the catalog and rebuild every view over the tables' current metadata."""
        tables, namespaces = self._read_catalog()
        pins = {self._pin_key(key, tables, namespaces): sid for key, sid in self._snapshot_ids_arg.items()}
        tables = {k: IcebergTableRef(t.namespace, t.name, t.metadata_location, t.location, pins.get(k))
                  for k, t in tables.items()}
        con = self._connect(tables, namespaces)
        with self._plan_lock:
            old, self._con, self._tables, self._namespaces = self._con, con, tables, namespaces
            self._viewed = set()
        if old is not None:
            old.close()

    def execute(self, sql: str, params: Mapping[str, object] | None = None) -> pa.Table:
        """Run one read-only Trino statement; see :meth:`SqlEngine.execute`."""
        statement = prepare(sql, params)
        if statement.kind in ("show", "describe"):
            return self._metadata(statement)
        duck_sql = self._to_duckdb(statement)
        cursor = self._connection().cursor()
        try:
            return self._run(cursor, duck_sql).to_arrow_table()
        except duckdb.Error as err:
            raise _query_error(err, duck_sql) from err
        finally:
            cursor.close()

    def stream(
        self, sql: str, params: Mapping[str, object] | None = None, *, batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """Run one read-only Trino statement and stream its result; see :meth:`SqlEngine.stream`."""
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be positive, got {batch_rows}")
        statement = prepare(sql, params)
        if statement.kind in ("show", "describe"):
            table = self._metadata(statement)
            return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch_rows))
        duck_sql = self._to_duckdb(statement)
        cursor = self._connection().cursor()
        try:
            reader = self._run(cursor, duck_sql).to_arrow_reader(batch_rows)
        except duckdb.Error as err:
            cursor.close()
            raise _query_error(err, duck_sql) from err

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                yield from reader
            except duckdb.Error as err:
                raise _query_error(err, duck_sql) from err
            finally:
                cursor.close()

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    def translate(self, sql: str, params: Mapping[str, object] | None = None) -> str:
        """The DuckDB SQL that :meth:`execute` would run for ``sql`` (for debugging)."""
        statement = prepare(sql, params)
        if statement.kind in ("show", "describe"):
            raise QueryError(f"{statement.kind.upper()} is answered from the catalog, not translated")
        return self._to_duckdb(statement)

    def close(self) -> None:
        """Close the DuckDB connection and delete the engine's temporary folder."""
        if self._con is not None:
            self._con.close()
            self._con = None
        shutil.rmtree(self._workdir, ignore_errors=True)

    # Catalog snapshot ------------------------------------------------------------------
    def _read_catalog(self) -> tuple[dict[tuple[str, str], IcebergTableRef], list[str]]:
        available = [".".join(ns) for ns in self._catalog.list_namespaces()]
        if self._namespaces_arg is None:
            # Nested namespaces ("a.b") have no Trino schema name; serve only the plain ones.
            namespaces = sorted(ns for ns in available if _IDENTIFIER.fullmatch(ns))
        else:
            namespaces = self._namespaces_arg
            unknown = [ns for ns in namespaces if ns not in available]
            if unknown:
                raise ValueError(f"unknown Iceberg namespace(s) {unknown}; the catalog has {sorted(available)}")
            nested = [ns for ns in namespaces if not _IDENTIFIER.fullmatch(ns)]
            if nested:
                raise ValueError(f"namespace(s) {nested} are not plain identifiers; Trino cannot name them as schemas")
        if self._default_namespace in namespaces:
            namespaces = [self._default_namespace, *[n for n in namespaces if n != self._default_namespace]]
        tables: dict[tuple[str, str], IcebergTableRef] = {}
        for ns in namespaces:
            for ident in self._catalog.list_tables(ns):
                table = self._catalog.load_table(ident)
                name = ident[-1]
                tables[(ns.lower(), name.lower())] = IcebergTableRef(
                    ns.lower(), name.lower(), table.metadata_location, table.location()
                )
        return tables, [ns.lower() for ns in namespaces]

    def _pin_key(self, key: str, tables: Mapping[tuple[str, str], IcebergTableRef], namespaces: list[str]) -> tuple[str, str]:
        try:
            return _resolve(key.split("."), tables, namespaces, self._trino_catalog)
        except UnknownTableError as err:
            raise ValueError(f"snapshot_ids: {err}") from err

    # Connection ------------------------------------------------------------------------
    def _connect(self, tables: Mapping[tuple[str, str], IcebergTableRef], namespaces: list[str]) -> duckdb.DuckDBPyConnection:
        config = {
            "home_directory": self._workdir,
            "extension_directory": os.path.join(self._workdir, "extensions"),
            "temp_directory": os.path.join(self._workdir, "spill"),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        con = duckdb.connect(":memory:", config=config)
        try:
            _load_iceberg(con)
            if any(urlparse(ref.location).scheme in _S3_SCHEMES for ref in tables.values()):
                _load_extension(con, "httpfs")
                con.execute(_s3_secret_sql(dict(self._catalog.properties)))
            cat = _quote(self._trino_catalog)
            con.execute(f"ATTACH ':memory:' AS {cat}")
            for ns in namespaces:
                con.execute(f"CREATE SCHEMA {cat}.{_quote(ns)}")
            # No views yet: binding an iceberg_scan view reads the table's metadata and manifests, about
            # 0.8 s per table on a 10,000-title catalog, so each view is made when a query first names its
            # table (``_ensure_view``), and opening the engine costs no table reads.
            search = ",".join([f"{self._trino_catalog}.{ns}" for ns in namespaces] or [self._trino_catalog])
            con.execute(f"SET search_path = {_string(search)}")
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET python_enable_replacements = false")
            dirs = sorted({d for ref in tables.values() for d in _allowed_forms(ref.location)})
            con.execute(f"SET allowed_directories = [{', '.join(_string(d) for d in dirs)}]")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        except BaseException:
            con.close()
            raise
        return con

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise QueryError("the engine is closed")
        return self._con

    def _run(self, cursor: duckdb.DuckDBPyConnection, duck_sql: str) -> duckdb.DuckDBPyConnection:
        # Cursors are separate DuckDB connections: the search path is per connection.
        cursor.execute(f"SET search_path = {_string(self._search_path())}")
        return cursor.execute(duck_sql)

    def _search_path(self) -> str:
        return ",".join([f"{self._trino_catalog}.{ns}" for ns in self._namespaces] or [self._trino_catalog])

    # Translation -----------------------------------------------------------------------
    def _to_duckdb(self, statement: Statement) -> str:
        assert statement.tree is not None
        body = to_duckdb(statement.tree, self._resolve_table)
        if statement.kind == "explain":
            options = statement.explain_options.upper()
            if options not in ("", "ANALYZE"):
                raise UnsupportedQueryError(
                    f"EXPLAIN {statement.explain_options} is not supported on the embedded engine (DuckDB); "
                    "use EXPLAIN or EXPLAIN ANALYZE"
                )
            return f"EXPLAIN {options} {body}".replace("  ", " ")
        return body

    def _resolve_name(self, parts: Sequence[str]) -> tuple[str, str]:
        return _resolve(parts, self._tables, self._namespaces, self._trino_catalog)

    def _resolve_table(self, node: exp.Table) -> exp.Expression:
        parts = [p.name for p in node.parts]
        ns, name = self._resolve_name(parts)
        version = node.args.get("version")
        alias = node.args.get("alias")
        if version is None:
            self._ensure_view(ns, name)
            resolved = exp.table_(name, db=ns, catalog=self._trino_catalog, quoted=True)
            if alias is not None:
                resolved.set("alias", alias.copy())
            return resolved
        ref = self._tables[(ns, name)]
        kind = str(version.this).upper()
        value = version.expression
        if kind == "VERSION" and isinstance(value, exp.Literal) and not value.is_string:
            arg = exp.EQ(this=exp.column("snapshot_from_id"), expression=value.copy())
        elif kind == "TIMESTAMP":
            arg = exp.EQ(this=exp.column("snapshot_from_timestamp"),
                         expression=exp.cast(value.copy(), exp.DataType.build("TIMESTAMPTZ")))
        else:
            raise UnsupportedQueryError(
                f"time travel {version.sql(DIALECT)} is not supported on the embedded engine; "
                "use FOR VERSION AS OF <snapshot id> or FOR TIMESTAMP AS OF <timestamp>"
            )
        scan = exp.Anonymous(this="iceberg_scan", expressions=[exp.Literal.string(ref.metadata_location), arg])
        return exp.Table(this=scan, alias=alias.copy() if alias is not None else exp.TableAlias(this=exp.to_identifier(name)))

    def _ensure_view(self, ns: str, name: str) -> None:
        """Make the table's view, once per table and refresh: over its planned data files where they can be
        read as written, else over ``iceberg_scan`` (see the module docstring)."""
        key = (ns, name)
        with self._plan_lock:
            if key in self._viewed:
                return
            ref = self._tables[key]
            view = f"CREATE OR REPLACE VIEW {_quote(self._trino_catalog)}.{_quote(ns)}.{_quote(name)} AS "
            files, columns = self._planned_files(ref)
            if files is None:
                self._connection().execute(f"{view}SELECT * FROM {_scan_sql(ref.metadata_location, ref.snapshot_id)}")
            else:
                self._connection().execute(f"{view}SELECT {columns} FROM read_parquet([{files}])")
            self._viewed.add(key)

    def _planned_files(self, ref: IcebergTableRef) -> tuple[str | None, str]:
        """``(quoted data file list, quoted column list)`` at the served snapshot, or ``(None, "")`` when the
        table must go through ``iceberg_scan`` (no snapshot or no files, an evolved schema, delete files)."""
        from pyiceberg.table import StaticTable

        table = StaticTable.from_metadata(ref.metadata_location, properties=dict(self._catalog.properties))
        snapshot = table.snapshot_by_id(ref.snapshot_id) if ref.snapshot_id is not None else table.current_snapshot()
        if snapshot is None or len(table.schemas()) != 1:
            return None, ""
        tasks = list(table.scan(snapshot_id=snapshot.snapshot_id).plan_files())
        if not tasks or any(t.delete_files for t in tasks):
            return None, ""
        files = ", ".join(_string(t.file.file_path) for t in tasks)
        return files, ", ".join(_quote(f.name) for f in table.schema().fields)

    # SHOW / DESCRIBE ---------------------------------------------------------------------
    def _metadata(self, statement: Statement) -> pa.Table:
        if statement.kind == "describe":
            assert isinstance(statement.tree, exp.Table)
            return self._describe([p.name for p in statement.tree.parts])
        return self._show(statement.show)

    def _describe(self, parts: Sequence[str], like: str | None = None) -> pa.Table:
        ns, name = self._resolve_name(parts)
        self._ensure_view(ns, name)
        rows = self._connection().execute(
            f"DESCRIBE {_quote(self._trino_catalog)}.{_quote(ns)}.{_quote(name)}"
        ).fetchall()
        rows = [r for r in rows if like is None or _like(r[0], like)]
        return pa.table({
            "Column": [r[0] for r in rows],
            "Type": [_trino_type(r[1]) for r in rows],
            "Extra": ["" for _ in rows],
            "Comment": ["" for _ in rows],
        })

    def _show(self, show: str) -> pa.Table:
        m = re.fullmatch(
            r"(?is)(?P<what>CATALOGS|SCHEMAS|TABLES|COLUMNS)"
            r"(?:\s+(?:FROM|IN)\s+(?P<target>[\w.\"]+))?(?:\s+LIKE\s+'(?P<like>(?:[^']|'')*)')?",
            show.strip(),
        )
        if m is None:
            raise UnsupportedQueryError(
                f"SHOW {show} is not supported on the embedded engine; "
                "use SHOW CATALOGS, SHOW SCHEMAS, SHOW TABLES [FROM schema], SHOW COLUMNS FROM table or DESCRIBE"
            )
        what = m["what"].upper()
        target = [p.strip('"') for p in m["target"].split(".")] if m["target"] else []
        like = m["like"].replace("''", "'") if m["like"] is not None else None
        if what == "CATALOGS":
            return pa.table({"Catalog": [c for c in [self._trino_catalog] if like is None or _like(c, like)]})
        if what == "SCHEMAS":
            if target and [t.lower() for t in target] != [self._trino_catalog]:
                raise UnknownTableError(f"unknown catalog {'.'.join(target)!r}; the embedded engine serves {self._trino_catalog!r}")
            return pa.table({"Schema": [s for s in self._namespaces if like is None or _like(s, like)]})
        if what == "TABLES":
            schema = self._schema_of(target)
            names = sorted(n for ns, n in self._tables if ns == schema and (like is None or _like(n, like)))
            return pa.table({"Table": pa.array(names, pa.string())})
        if not target:
            raise QueryError("SHOW COLUMNS needs a table: SHOW COLUMNS FROM iceberg.features.shots")
        return self._describe(target, like)

    def _schema_of(self, target: list[str]) -> str:
        parts = [t.lower() for t in target]
        if len(parts) == 2:
            if parts[0] != self._trino_catalog:
                raise UnknownTableError(f"unknown catalog {parts[0]!r}; the embedded engine serves {self._trino_catalog!r}")
            parts = parts[1:]
        if not parts:
            if not self._namespaces:
                raise QueryError("no schema to show tables from")
            return self._namespaces[0]
        if len(parts) != 1 or parts[0] not in self._namespaces:
            raise UnknownTableError(f"unknown schema {'.'.join(target)!r}; schemas: {', '.join(self._namespaces)}")
        return parts[0]


# Helpers ---------------------------------------------------------------------------------
def _resolve(
    parts: Sequence[str], tables: Mapping[tuple[str, str], IcebergTableRef], namespaces: Sequence[str], catalog: str
) -> tuple[str, str]:
    """Resolve a 1-, 2- or 3-part table name the way Trino would with ``namespaces`` as search path."""
    parts = [p.lower() for p in parts]
    shown = ".".join(parts)
    if len(parts) == 3:
        if parts[0] != catalog:
            raise UnknownTableError(f"unknown catalog {parts[0]!r} in {shown!r}; the embedded engine serves {catalog!r}")
        parts = parts[1:]
    if len(parts) == 2 and (parts[0], parts[1]) in tables:
        return parts[0], parts[1]
    if len(parts) == 1:
        for ns in namespaces:
            if (ns, parts[0]) in tables:
                return ns, parts[0]
    known = ", ".join(sorted(f"{catalog}.{ns}.{n}" for ns, n in tables)) or "none"
    raise UnknownTableError(f"table {shown!r} does not exist; known tables: {known}")


def _load_iceberg(con: duckdb.DuckDBPyConnection) -> None:
    """Load avro then iceberg from the pip-installed extension packages (never from the network)."""
    for ext in ("avro", "iceberg"):
        _load_extension(con, ext)


def _load_extension(con: duckdb.DuckDBPyConnection, ext: str) -> None:
    """Load the DuckDB extension ``ext`` from its pip package ``duckdb-extension-<ext>``.

    Raises:
        QueryError: the package is missing or holds no extension file for this DuckDB.
    """
    module_name = f"duckdb_extension_{ext}"
    try:
        module = __import__(module_name)
    except ImportError as err:
        raise QueryError(
            f"the embedded engine needs the {module_name.replace('_', '-')} package "
            f"(pip install {module_name.replace('_', '-')}=={duckdb.__version__})"
        ) from err
    found = glob.glob(os.path.join(os.path.dirname(module.__file__ or ""), "extensions", "*", f"{ext}.duckdb_extension"))
    if not found:
        raise QueryError(f"{module_name} holds no {ext}.duckdb_extension file")
    con.execute(f"LOAD {_string(found[0])}")


_S3_SCHEMES = ("s3", "s3a", "s3n")


def _s3_secret_sql(props: Mapping[str, str]) -> str:
    """``CREATE SECRET`` for DuckDB's httpfs from pyiceberg's S3 FileIO properties.

    Without ``s3.access-key-id`` the secret uses the AWS credential chain (environment, profile, instance
    role). An ``s3.endpoint`` URL gives the host DuckDB calls and, by its scheme, whether TLS is used.
    """
    options = ["TYPE s3"]
    if props.get("s3.access-key-id"):
        options += [f"KEY_ID {_string(props['s3.access-key-id'])}", f"SECRET {_string(props.get('s3.secret-access-key', ''))}"]
        if props.get("s3.session-token"):
            options.append(f"SESSION_TOKEN {_string(props['s3.session-token'])}")
    else:
        options.append("PROVIDER credential_chain")
    if props.get("s3.region"):
        options.append(f"REGION {_string(props['s3.region'])}")
    endpoint = props.get("s3.endpoint")
    if endpoint:
        parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        options.append(f"ENDPOINT {_string(parsed.netloc + parsed.path.rstrip('/'))}")
        options.append(f"USE_SSL {'true' if parsed.scheme == 'https' else 'false'}")
    options.append(f"URL_STYLE {_string('path' if s3_path_style(props) else 'vhost')}")
    return f"CREATE SECRET reelhouse_s3 ({', '.join(options)})"


def _scan_sql(metadata_location: str, snapshot_id: int | None) -> str:
    pin = f", snapshot_from_id = {int(snapshot_id)}" if snapshot_id is not None else ""
    return f"iceberg_scan({_string(metadata_location)}{pin})"


def _allowed_forms(location: str) -> list[str]:
    """A table location as DuckDB may see it: the URI as written and, for ``file://``, the bare path."""
    base = location.rstrip("/") + "/"
    forms = [base]
    parsed = urlparse(location)
    if parsed.scheme == "file":
        forms.append(unquote(parsed.path).rstrip("/") + "/")
    return forms


def _query_error(err: duckdb.Error, duck_sql: str) -> QueryError:
    message = str(err).strip()
    missing = _MISSING_FUNCTION.search(message)
    if missing:
        return UnsupportedQueryError(
            f"function {missing.group(2)}() is not available on the embedded engine (DuckDB 1.5); "
            f"DuckDB SQL was: {duck_sql}"
        )
    return QueryError(f"{message.splitlines()[0]}\nDuckDB SQL was: {duck_sql}")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _like(value: str, pattern: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.S) is not None


_TRINO_TYPES = {
    "VARCHAR": "varchar", "DOUBLE": "double", "FLOAT": "real", "INTEGER": "integer", "BIGINT": "bigint",
    "SMALLINT": "smallint", "TINYINT": "tinyint", "BOOLEAN": "boolean", "DATE": "date", "BLOB": "varbinary",
    "TIMESTAMP": "timestamp(6)", "TIMESTAMP WITH TIME ZONE": "timestamp(6) with time zone", "UUID": "uuid",
    "TIME": "time(6)",
}


def _trino_type(duck_type: str) -> str:
    """DuckDB type name as Trino's Iceberg connector would show it (``FLOAT[]`` → ``array(real)``)."""
    if duck_type.endswith("[]"):
        return f"array({_trino_type(duck_type[:-2])})"
    if duck_type.startswith("DECIMAL"):
        return duck_type.lower()
    return _TRINO_TYPES.get(duck_type, duck_type.lower())

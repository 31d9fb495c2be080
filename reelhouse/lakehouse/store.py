"""The feature store: the one module that writes to the lakehouse.

Every write replaces exactly its ``(video_id, feature, feature_version)`` slices in one atomic Iceberg
commit: a delete of the old slice files plus an ``add_files`` of the new Parquet files, committed
together. A concurrent writer's commit makes ours retry on the refreshed table, so both land. A crashed
writer leaves at most unreferenced Parquet files, never visible rows. Other versions of a feature are
untouched and stay readable; Iceberg snapshots give time travel and audit.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    TableAlreadyExistsError,
    ValidationException,
)
from pyiceberg.io.pyarrow import parquet_file_to_data_file
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo
from pyiceberg.table import Table

from reelhouse.config import Settings
from reelhouse.lakehouse.catalog import open_catalog
from reelhouse.lakehouse.schemas import ALL_TABLES, TableDef, table_def
from reelhouse.lakehouse.slice_files import SliceFileWriter
from reelhouse.lakehouse.slices import FeatureSlice, slices_filter

log = logging.getLogger(__name__)

#: How often a commit that lost a race is retried on the refreshed table.
COMMIT_ATTEMPTS = 12

#: Snapshot summary property naming a maintenance operation (``compact``): such snapshots change no rows.
OPERATION_PROPERTY = "reelhouse.operation"

#: A partition with at least this many data files is rewritten as one by :meth:`FeatureStore.compact`.
COMPACT_MIN_FILES = 2


def new_run_id() -> str:
    """A fresh, sortable run id: UTC timestamp plus random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class WriteResult:
    """What one commit wrote.

    Attributes:
        table: table name.
        snapshot_id: the Iceberg snapshot the commit produced (None if nothing changed).
        rows: rows added.
        slices: slices replaced.
        attempts: commit attempts it took (1 without contention).
    """

    table: str
    snapshot_id: int | None
    rows: int
    slices: tuple[FeatureSlice, ...]
    attempts: int


class FeatureStore:
    """Reads and writes reelhouse's Iceberg tables in one namespace.

    Args:
        catalog: an open pyiceberg catalog.
        namespace: the Iceberg namespace (Trino schema) holding the tables.
    """

    def __init__(self, catalog: Catalog, namespace: str = "features") -> None:
        self.catalog = catalog
        self.namespace = namespace
        self._ensured: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> FeatureStore:
        return cls(open_catalog(settings), settings.namespace)

    # Tables -------------------------------------------------------------------------
    def identifier(self, name: str) -> str:
        return f"{self.namespace}.{name}"

    def ensure_tables(self, names: Iterable[str] | None = None) -> None:
        """Create the namespace and the named tables (default: all) if missing."""
        try:
            self.catalog.create_namespace(self.namespace)
        except NamespaceAlreadyExistsError:
            pass
        for name in names or ALL_TABLES:
            self._ensure(table_def(name))

    def _ensure(self, tdef: TableDef) -> None:
        if tdef.name in self._ensured:
            return
        ident = self.identifier(tdef.name)
        if not self.catalog.table_exists(ident):
            try:
                self.catalog.create_namespace(self.namespace)
            except NamespaceAlreadyExistsError:
                pass
            try:
                self.catalog.create_table(
                    ident,
                    schema=tdef.schema,
                    partition_spec=tdef.partition_spec,
                    properties={"write.parquet.compression-codec": "zstd", "comment": tdef.doc},
                )
            except TableAlreadyExistsError:
                pass  # another writer created it first
        else:
            self._evolve(ident, tdef)
        self._ensured.add(tdef.name)

    def _evolve(self, ident: str, tdef: TableDef) -> None:
        """Bring a table created by older code up to its definition: add the optional columns it lacks,
        and move it to the current partition spec (files already written keep theirs until compacted)."""
        table = self.catalog.load_table(ident)
        have = {f.name for f in table.schema().fields}
        if not all(f.name in have for f in tdef.schema.fields):
            with table.update_schema() as update:
                update.union_by_name(tdef.schema)
            table = self.catalog.load_table(ident)
        if _spec_shape(table.spec(), table.schema()) != _spec_shape(tdef.partition_spec, tdef.schema):
            try:
                with table.update_spec() as update:
                    for field in table.spec().fields:
                        update.remove_field(field.name)
                    for field in tdef.partition_spec.fields:
                        update.add_field(tdef.schema.find_field(field.source_id).name, field.transform, field.name)
            except CommitFailedException:
                pass  # another process evolved it first

    def table(self, name: str) -> Table:
        """Load a table (creating it on first use)."""
        self._ensure(table_def(name))
        return self.catalog.load_table(self.identifier(name))

    # Writes -------------------------------------------------------------------------
    def file_writer(self, name: str, run_id: str) -> SliceFileWriter:
        """A picklable writer for Spark executors (or the driver) to write slice files of table ``name``."""
        tdef = table_def(name)
        table = self.table(name)
        return SliceFileWriter(
            table=name,
            data_location=f"{table.location().rstrip('/')}/data",
            arrow_schema_ipc=tdef.arrow_schema.serialize().to_pybytes(),
            run_id=run_id,
            io_properties=dict(table.io.properties),
        )

    def replace_slices(self, name: str, rows_by_slice: Mapping[FeatureSlice, pa.Table | list[dict]], run_id: str) -> WriteResult:
        """Replace each slice's rows with the given rows (Arrow tables or row dicts, audit columns
        optional), all in one atomic commit.

        An empty table for a slice removes that slice (and writes no file).
        """
        writer = self.file_writer(name, run_id)
        when = datetime.now(timezone.utc)
        files: dict[FeatureSlice, list[str]] = {}
        for slice_, rows in rows_by_slice.items():
            if isinstance(rows, list):
                rows = _rows_to_arrow(rows, table_def(name).arrow_schema)
            files[slice_] = [writer.write(slice_, rows, when)] if rows.num_rows else []
        return self.commit_files(name, files, run_id)

    def replace_slice(self, name: str, slice_: FeatureSlice, rows: pa.Table | list[dict], run_id: str) -> WriteResult:
        """Replace one slice. ``rows`` is an Arrow table or a list of row dicts (audit columns optional)."""
        return self.replace_slices(name, {slice_: rows}, run_id)

    def commit_files(self, name: str, files_by_slice: Mapping[FeatureSlice, list[str]], run_id: str) -> WriteResult:
        """Atomically replace the given slices with the given Parquet files (written by :class:`SliceFileWriter`).

        Raises:
            ValueError: if a file holds rows of a slice it was not declared for.
            CommitFailedException: if the commit still conflicts after ``COMMIT_ATTEMPTS`` retries.
        """
        slices = tuple(sorted(files_by_slice))
        if not slices:
            return WriteResult(name, None, 0, (), 0)
        paths = [p for s in slices for p in files_by_slice[s]]
        target = self.table(name)
        rows = sum(_check_file(p, s, target) for s in slices for p in files_by_slice[s])
        delete_filter = slices_filter(slices)
        props = {
            "reelhouse.run_id": run_id,
            "reelhouse.slices": ",".join(sorted({f"{s.feature}@{s.feature_version}" for s in slices})),
            "reelhouse.titles": str(len({s.video_id for s in slices})),
        }
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            table = self.table(name)
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="Delete operation did not match any records")
                    with table.transaction() as tx:
                        if table.current_snapshot() is not None:
                            tx.delete(delete_filter, snapshot_properties=props)
                        if paths:
                            tx.add_files(paths, snapshot_properties=props, check_duplicate_files=False)
            except (CommitFailedException, _sqlite_locked_error()) as exc:  # lost a race: refresh and redo
                if attempt == COMMIT_ATTEMPTS:
                    raise
                log.info("commit to %s conflicted (%s); retry %d", name, exc, attempt)
                time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
                continue
            snap = self.table(name).current_snapshot()
            return WriteResult(name, snap.snapshot_id if snap else None, rows, slices, attempt)
        raise AssertionError("unreachable")

    # Maintenance ------------------------------------------------------------------------
    def compact_all(self, *, min_files: int = COMPACT_MIN_FILES) -> list[CompactionResult]:
        """:meth:`compact` every reelhouse table (creating any that is missing, empty); see there."""
        self.ensure_tables()
        return [self.compact(name, min_files=min_files) for name in ALL_TABLES]

    def compact(self, name: str, *, min_files: int = COMPACT_MIN_FILES) -> CompactionResult:
        """Merge each partition's small data files into one file, sorted by ``(video_id, feature_version)``.

        Every write adds one file per slice, so a catalog of many titles accumulates many small files,
        and every reader (DuckDB, Trino, Spark, pyiceberg) pays per file. Compaction rewrites a
        partition holding ``min_files`` or more files (or any file written under an older partition
        spec) as one file, in one atomic commit that removes exactly the files it read: if a writer
        replaced any of them meanwhile, the commit fails validation and is retried on the new state.
        Rows, their values and their audit columns are unchanged.

        Returns:
            What was rewritten (nothing when every partition is already compact).

        Raises:
            ValueError: ``min_files`` is below 1.
        """
        if min_files < 1:
            raise ValueError(f"min_files must be at least 1, got {min_files}")
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            table = self.table(name)
            snap = table.current_snapshot()
            if snap is None:
                return CompactionResult(name, None, 0, 0, 0)
            spec = table.spec()
            groups: dict[tuple, list] = {}
            for task in table.scan(snapshot_id=snap.snapshot_id).plan_files():
                groups.setdefault(_current_partition(task.file, table, spec), []).append(task.file)
            todo = [files for files in groups.values()
                    if len(files) >= min_files or any(f.spec_id != spec.spec_id for f in files)]
            if not todo:
                return CompactionResult(name, snap.snapshot_id, 0, 0, 0)
            writer = self.file_writer(name, f"compact-{snap.snapshot_id}")
            tdef = table_def(name)
            new_paths = [writer.write_compacted(_read_files(tdef, table, files)) for files in todo]
            try:
                with table.transaction() as tx:
                    props = {OPERATION_PROPERTY: "compact", "reelhouse.partitions": str(len(todo))}
                    with tx.update_snapshot(snapshot_properties=props).overwrite() as rewrite:
                        for files in todo:
                            for df in files:
                                rewrite.delete_data_file(df)
                        for path in new_paths:
                            rewrite.append_data_file(parquet_file_to_data_file(table.io, tx.table_metadata, path))
            except (CommitFailedException, ValidationException, _sqlite_locked_error()) as exc:
                _delete_quietly(table, new_paths)
                if attempt == COMMIT_ATTEMPTS:
                    raise
                log.info("compaction of %s conflicted (%s); retry %d", name, exc, attempt)
                continue
            after = self.table(name).current_snapshot()
            return CompactionResult(name, after.snapshot_id if after else None, len(todo),
                                    sum(len(f) for f in todo), len(new_paths))
        raise AssertionError("unreachable")

    # Reads and memoization ------------------------------------------------------------
    def present_video_ids(self, name: str, feature: str, feature_version: str,
                          video_ids: Iterable[str] | None = None) -> set[str]:
        """Titles (of ``video_ids``, default all) for which ``(feature, feature_version)`` is stored in table
        ``name``: one scan, pruned to the titles' partitions and files when they are given."""
        table = self.table(name)
        if table.current_snapshot() is None:
            return set()
        if video_ids is not None:
            titles = list(dict.fromkeys(video_ids))
            if not titles:
                return set()
            flt = slices_filter(FeatureSlice(v, feature, feature_version) for v in titles)
        else:
            flt = And(EqualTo(term="feature", value=feature), EqualTo(term="feature_version", value=feature_version))
        ids = table.scan(row_filter=flt, selected_fields=("video_id",)).to_arrow().column("video_id")
        return set(ids.unique().to_pylist())

    def has_slice(self, name: str, slice_: FeatureSlice) -> bool:
        """True when the slice is already stored (the memoization check)."""
        table = self.table(name)
        if table.current_snapshot() is None:
            return False
        scan = table.scan(row_filter=slice_.row_filter, selected_fields=("video_id",), limit=1)
        return scan.to_arrow().num_rows > 0

    def read(
        self,
        name: str,
        row_filter: BooleanExpression | str = AlwaysTrue(),
        selected_fields: tuple[str, ...] = ("*",),
        snapshot_id: int | None = None,
    ) -> pa.Table:
        """Read rows of table ``name``, optionally as of an earlier snapshot (time travel)."""
        table = self.table(name)
        if table.current_snapshot() is None:
            return table_def(name).arrow_schema.empty_table()
        return table.scan(row_filter=row_filter, selected_fields=selected_fields, snapshot_id=snapshot_id).to_arrow()

    def read_slice(self, name: str, slice_: FeatureSlice, snapshot_id: int | None = None) -> pa.Table:
        return self.read(name, slice_.row_filter, snapshot_id=snapshot_id)

    def slice_table(self, name: str, slice_: FeatureSlice, fields: tuple[str, ...]) -> pa.Table:
        """``fields`` of the slice's rows (one scan; ``reelhouse.lakehouse.title_reads.TitleReads``)."""
        return self.read(name, slice_.row_filter, selected_fields=fields)

    def versions_held(self, name: str, video_id: str, feature: str) -> list[str]:
        """The versions of ``feature`` the title has rows of in table ``name``, sorted (one scan)."""
        held = self.read(name, And(EqualTo(term="video_id", value=video_id), EqualTo(term="feature", value=feature)),
                         selected_fields=("feature_version",)).column("feature_version")
        return sorted(set(held.to_pylist()))

    def snapshot_id(self, name: str) -> int | None:
        """The snapshot holding the table's current rows (None while empty).

        Compaction commits rewrite files without changing a row, so they are passed over: indexes and
        stored match cuts built from the snapshot before a compaction stay current, and reading either
        snapshot gives the same rows.
        """
        table = self.table(name)
        snap = table.current_snapshot()
        while snap is not None and snap.summary is not None and snap.summary.get(OPERATION_PROPERTY) == "compact":
            if snap.parent_snapshot_id is None:
                break
            snap = table.snapshot_by_id(snap.parent_snapshot_id)
        return snap.snapshot_id if snap else None


class ReadOnlyStore(TypeError):
    """A write was attempted through a :class:`PinnedStore` (a read view)."""


class PinnedStore(FeatureStore):
    """A read-only view of a store as it was at one moment: every table is loaded once, here, and every
    read through the view (``read``, ``read_slice``, ``snapshot_id``, ...) sees the snapshot that table had
    then, whatever is committed later. Answers composed of several reads, of several tables, come from
    one set of snapshots (:meth:`snapshot_ids`). Iceberg commits one table at a time, so the set is what
    the catalog held at one moment between commits, not a cross-table transaction.

    Args:
        store: the store to pin (its catalog is shared, not copied).
        names: the tables to pin (default: all of reelhouse's); reading another raises ``KeyError``.
    """

    def __init__(self, store: FeatureStore, names: Iterable[str] | None = None) -> None:
        super().__init__(store.catalog, store.namespace)
        # Downstream tables first: the pipeline commits a title's media before its shots and its shots
        # before their embeddings, so whatever a later-loaded upstream table holds covers what the
        # downstream ones loaded before it hold, even with commits landing meanwhile.
        wanted = list(names or ALL_TABLES)
        self._pinned = {name: store.table(name) for name in reversed(wanted)}

    def table(self, name: str) -> Table:
        try:
            return self._pinned[name]
        except KeyError:
            raise KeyError(f"table {name!r} is not pinned in this view") from None

    def snapshot_ids(self) -> dict[str, int | None]:
        """``table -> snapshot id`` the view reads (see :meth:`FeatureStore.snapshot_id`)."""
        return {name: self.snapshot_id(name) for name in self._pinned}

    def _read_only(self, *args, **kwargs):  # noqa: ANN002, ANN003
        raise ReadOnlyStore("a pinned store is a read view; write through the FeatureStore it pins")

    ensure_tables = file_writer = replace_slices = replace_slice = commit_files = compact_all = compact = _read_only


def snapshot_ids(store: FeatureStore, names: Iterable[str] | None = None) -> dict[str, int | None]:
    """``table -> current snapshot id`` (compactions passed over, see :meth:`FeatureStore.snapshot_id`),
    each table loaded afresh from the catalog."""
    return {name: store.snapshot_id(name) for name in (names or ALL_TABLES)}


@dataclass(frozen=True)
class CompactionResult:
    """What :meth:`FeatureStore.compact` did to one table.

    Attributes:
        table: table name.
        snapshot_id: the table's snapshot after compaction (None for an empty table).
        partitions: partitions rewritten.
        files_removed: small files replaced.
        files_added: compacted files written (one per rewritten partition).
    """

    table: str
    snapshot_id: int | None
    partitions: int
    files_removed: int
    files_added: int

    def __str__(self) -> str:
        if not self.files_removed:
            return f"{self.table}: already compact"
        return f"{self.table}: {self.files_removed} files in {self.partitions} partitions -> {self.files_added}"


def _read_files(tdef: TableDef, table: Table, files: list) -> pa.Table:
    """The rows of ``files`` (data files of ``table``) in the definition's columns; columns added to the
    table after a file was written read as null, as every Iceberg reader sees them."""
    schema = tdef.arrow_schema
    parts = []
    for df in files:
        with table.io.new_input(df.file_path).open() as f:
            rows = pq.read_table(f)
        columns = [rows.column(field.name).cast(field.type) if field.name in rows.column_names
                   else pa.nulls(rows.num_rows, field.type) for field in schema]
        parts.append(pa.Table.from_arrays(columns, schema=schema))
    return pa.concat_tables(parts)


def _current_partition(data_file, table: Table, spec) -> tuple:
    """The partition ``data_file`` belongs to under ``spec`` (the current one).

    A file written under an older spec is placed by its old partition values where the old spec keeps the
    source column whole (``identity``); otherwise it stays in a group of its own.
    """
    if data_file.spec_id == spec.spec_id:
        return (spec.spec_id, *data_file.partition)
    old = table.specs()[data_file.spec_id]
    identity = {f.source_id: data_file.partition[i] for i, f in enumerate(old.fields) if str(f.transform) == "identity"}
    if all(f.source_id in identity for f in spec.fields):
        schema = table.schema()
        return (spec.spec_id, *(f.transform.transform(schema.find_field(f.source_id).field_type)(identity[f.source_id])
                                for f in spec.fields))
    return ("spec", data_file.spec_id, *data_file.partition)


def _spec_shape(spec, schema) -> list[tuple[str, str]]:
    """A partition spec as (source column, transform) pairs, comparable across tables."""
    return [(schema.find_column_name(f.source_id), str(f.transform)) for f in spec.fields]


def _delete_quietly(table: Table, paths: list[str]) -> None:
    for path in paths:
        try:
            table.io.delete(path)
        except OSError:
            pass


def _rows_to_arrow(rows: list[dict], schema: pa.Schema) -> pa.Table:
    names = [n for n in schema.names if any(n in r for r in rows)]
    sub = pa.schema([schema.field(n) for n in names])
    return pa.Table.from_pylist(rows, schema=sub.with_metadata(None)) if rows else sub.empty_table()


def _check_file(path: str, slice_: FeatureSlice, table: Table) -> int:
    """Verify a Parquet file holds only ``slice_``'s rows; return its row count."""
    with table.io.new_input(path).open() as f:
        meta = pq.read_metadata(f)
    names = meta.schema.names
    for col, expected in (("video_id", slice_.video_id), ("feature", slice_.feature), ("feature_version", slice_.feature_version)):
        idx = names.index(col)
        for rg in range(meta.num_row_groups):
            st = meta.row_group(rg).column(idx).statistics
            if st is None or not st.has_min_max or st.min != expected or st.max != expected:
                raise ValueError(f"{path}: column {col} is not uniformly {expected!r}; refusing to commit it for {slice_}")
    return meta.num_rows


def _sqlite_locked_error() -> type[Exception]:
    from sqlalchemy.exc import OperationalError

    return OperationalError

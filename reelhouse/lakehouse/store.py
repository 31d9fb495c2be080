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
from pyiceberg.exceptions import CommitFailedException, NamespaceAlreadyExistsError, TableAlreadyExistsError
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
        """Add the optional columns a newer table definition has and the stored table lacks."""
        table = self.catalog.load_table(ident)
        have = {f.name for f in table.schema().fields}
        if all(f.name in have for f in tdef.schema.fields):
            return
        with table.update_schema() as update:
            update.union_by_name(tdef.schema)

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

    def replace_slices(self, name: str, rows_by_slice: Mapping[FeatureSlice, pa.Table], run_id: str) -> WriteResult:
        """Replace each slice's rows with the given rows, all in one atomic commit.

        An empty table for a slice removes that slice (and writes no file).
        """
        writer = self.file_writer(name, run_id)
        when = datetime.now(timezone.utc)
        files: dict[FeatureSlice, list[str]] = {}
        for slice_, rows in rows_by_slice.items():
            files[slice_] = [writer.write(slice_, rows, when)] if rows.num_rows else []
        return self.commit_files(name, files, run_id)

    def replace_slice(self, name: str, slice_: FeatureSlice, rows: pa.Table | list[dict], run_id: str) -> WriteResult:
        """Replace one slice. ``rows`` is an Arrow table or a list of row dicts (audit columns optional)."""
        if isinstance(rows, list):
            rows = _rows_to_arrow(rows, table_def(name).arrow_schema)
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
        rows = sum(_check_file(p, s, self.table(name)) for s in slices for p in files_by_slice[s])
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

    # Reads and memoization ------------------------------------------------------------
    def present_video_ids(self, name: str, feature: str, feature_version: str) -> set[str]:
        """Titles for which ``(feature, feature_version)`` is already stored in table ``name``."""
        table = self.table(name)
        if table.current_snapshot() is None:
            return set()
        flt = And(EqualTo("feature", feature), EqualTo("feature_version", feature_version))
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

    def snapshot_id(self, name: str) -> int | None:
        snap = self.table(name).current_snapshot()
        return snap.snapshot_id if snap else None


def keep_latest_versions(rows: pa.Table) -> pa.Table:
    """Keep, for each (video_id, feature), only the rows of its most recently written feature_version."""
    if rows.num_rows == 0:
        return rows
    keys = rows.select(["video_id", "feature", "feature_version", "written_at"])
    newest = keys.group_by(["video_id", "feature", "feature_version"]).aggregate([("written_at", "max")]).to_pylist()
    best: dict[tuple[str, str], tuple] = {}
    for r in newest:
        k = (r["video_id"], r["feature"])
        if k not in best or r["written_at_max"] > best[k][0]:
            best[k] = (r["written_at_max"], r["feature_version"])
    wanted = {k: v for k, (_, v) in best.items()}
    mask = [wanted[(v, f)] == ver for v, f, ver in zip(*(keys.column(c).to_pylist() for c in ("video_id", "feature", "feature_version")))]
    return rows.filter(pa.array(mask, type=pa.bool_()))


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

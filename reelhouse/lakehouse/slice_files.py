"""Writing one feature slice as a Parquet data file, from the driver or from a Spark executor.

A :class:`SliceFileWriter` is small and picklable: Spark ships it to executors, which write Parquet
straight into the table's data location (local disk or object storage). Nothing is visible to readers
until :meth:`reelhouse.lakehouse.Lakehouse.commit_files` adds the files in one atomic commit; files of a
crashed run are unreferenced and never read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from reelhouse.lakehouse.schemas import VIDEO_ID_PREFIX_CHARS
from reelhouse.lakehouse.slices import FeatureSlice


@dataclass(frozen=True)
class SliceFileWriter:
    """Writes slices of one table as Parquet files under ``data_location``.

    Attributes:
        table: table name (for messages).
        data_location: URI of the table's data folder.
        arrow_schema_ipc: the table's Arrow schema, IPC-serialized so the writer pickles cheaply.
        run_id: the run writing; stamped on every row.
        io_properties: pyiceberg FileIO properties (credentials, endpoints) for object storage.
    """

    table: str
    data_location: str
    arrow_schema_ipc: bytes
    run_id: str
    io_properties: dict[str, str] = field(default_factory=dict)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.ipc.read_schema(pa.py_buffer(self.arrow_schema_ipc))

    def write(self, slice_: FeatureSlice, rows: pa.Table, written_at: datetime | None = None) -> str:
        """Write ``rows`` (one slice) to a new Parquet file and return its URI.

        Audit columns are stamped here; ``rows`` may omit them. Rows are cast to the table schema, so a
        missing required value fails here, on the writer, not in a reader.

        Raises:
            ValueError: if ``rows`` has columns the table does not, or rows of another title.
        """
        table = stamp_rows(rows, slice_, self.run_id, self.arrow_schema, written_at)
        return self._write(slice_.feature, slice_.video_id, table)

    def write_compacted(self, rows: pa.Table) -> str:
        """Write the already stamped rows of one partition, merged from several files, as one file.

        Rows are sorted by ``(video_id, feature_version)`` and then by the table's first payload column
        (``shot_index`` for per-shot tables), so column bounds let readers skip by title.
        """
        if rows.num_rows == 0:
            raise ValueError("nothing to compact")
        keys = [(c, "ascending") for c in ("feature", "video_id", "feature_version")]
        if "shot_index" in rows.column_names:
            keys.append(("shot_index", "ascending"))
        rows = rows.sort_by(keys)
        return self._write(rows.column("feature")[0].as_py(), rows.column("video_id")[0].as_py(), rows)

    def _write(self, feature: str, video_id: str, rows: pa.Table) -> str:
        """Write ``rows`` to a new file in the folder of their partition; return its URI."""
        from pyiceberg.io import load_file_io

        path = (f"{self.data_location.rstrip('/')}/feature={feature}/video_id_prefix={video_id[:VIDEO_ID_PREFIX_CHARS]}/"
                f"{self.run_id}-{uuid.uuid4().hex}.parquet")
        io = load_file_io(self.io_properties, path)
        with io.new_output(path).create(overwrite=False) as out:
            pq.write_table(rows, out, compression="zstd")
        return path


def stamp_rows(
    rows: pa.Table, slice_: FeatureSlice, run_id: str, schema: pa.Schema, written_at: datetime | None = None
) -> pa.Table:
    """Return ``rows`` with the audit columns filled and cast to ``schema`` (column order included).

    Raises:
        ValueError: on unknown columns or rows that belong to another slice.
    """
    extra = set(rows.column_names) - set(schema.names)
    if extra:
        raise ValueError(f"columns not in the table schema: {sorted(extra)}")
    n = rows.num_rows
    when = written_at or datetime.now(timezone.utc)
    fixed = {
        "video_id": slice_.video_id,
        "feature": slice_.feature,
        "feature_version": slice_.feature_version,
    }
    for name, value in fixed.items():
        if name in rows.column_names:
            present = set(rows.column(name).to_pylist())
            if present - {value}:
                raise ValueError(f"rows carry {name}={sorted(present - {value})}, not the slice's {value!r}")
    columns = []
    for fld in schema:
        if fld.name in fixed:
            col = pa.array([fixed[fld.name]] * n, type=fld.type)
        elif fld.name == "run_id":
            col = pa.array([run_id] * n, type=fld.type)
        elif fld.name == "written_at":
            col = pa.array([when] * n, type=fld.type)
        elif fld.name in rows.column_names:
            col = rows.column(fld.name).cast(fld.type)
        else:
            col = pa.nulls(n, type=fld.type)
        if not fld.nullable and col.null_count:
            raise ValueError(f"column {fld.name!r} is required but has {col.null_count} null value(s)")
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)

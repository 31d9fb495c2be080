"""A batch's inputs: planned once on the driver from one Iceberg snapshot, read by the executors themselves.

The driver never reads a payload. For each input (one feature version of one table) it plans the data
files once per batch, from one snapshot, with Iceberg's partition and column-bound pruning, and assigns
each file to the titles its ``video_id`` bounds admit. What travels to an executor is a title's file
URIs and the slice to filter by; the executor reads its title's rows from those files (pyarrow through
the table's FileIO, so local disk and object storage alike). Driver memory then grows with the number
of data files planned (a few hundred bytes each), never with the bytes of frames, vectors or cues.

Only copy-on-write tables are read this way (reelhouse's writer never writes delete files); a plan
that meets a delete file refuses rather than read deleted rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from reelhouse.lakehouse.schemas import table_def
from reelhouse.lakehouse.slices import FeatureSlice, slices_filter


@dataclass(frozen=True)
class SliceInput:
    """What a job reads for each title: the rows of one feature version in one table.

    Attributes:
        table: reelhouse table name (``shots``, ``shot_frames``, ...).
        feature: the rows' ``feature`` value.
        feature_version: the rows' ``feature_version`` value (the registry's current one).
        columns: the columns to read, in this order (``video_id`` need not be listed).
    """

    table: str
    feature: str
    feature_version: str
    columns: tuple[str, ...]

    def slice(self, video_id: str) -> FeatureSlice:
        return FeatureSlice(video_id, self.feature, self.feature_version)


@dataclass(frozen=True)
class BatchPlan:
    """The inputs of a batch of titles: for every title and input, the data files that may hold its rows.

    Attributes:
        inputs: ``name -> SliceInput``; the names are what a job's per-title function receives.
        snapshot_ids: ``table -> snapshot id`` every input of that table was planned from (None: empty).
        files: ``video_id -> input name -> data file URIs`` (empty for a title without rows there).
        io_properties: FileIO properties (credentials, endpoints) executors open the files with.
    """

    inputs: Mapping[str, SliceInput]
    snapshot_ids: Mapping[str, int | None]
    files: Mapping[str, Mapping[str, tuple[str, ...]]]
    io_properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def titles(self) -> list[str]:
        """The batch's titles, in the order they were planned."""
        return list(self.files)

    def missing(self) -> dict[str, list[str]]:
        """``video_id -> input names`` with no data file at all: titles whose upstream is not computed."""
        out: dict[str, list[str]] = {}
        for vid, by_input in self.files.items():
            absent = [name for name in self.inputs if not by_input.get(name)]
            if absent:
                out[vid] = absent
        return out

    def title_files_json(self, video_id: str) -> str:
        """One title's file lists as JSON, the form a task row carries (small: URIs only)."""
        return json.dumps({name: list(paths) for name, paths in self.files[video_id].items()})


def plan_batch(store, inputs: Mapping[str, SliceInput], video_ids: Sequence[str]) -> BatchPlan:
    """Plan ``inputs`` for ``video_ids`` from each table's current snapshot (one scan plan per input).

    Args:
        store: the :class:`reelhouse.lakehouse.FeatureStore` to plan against.
        inputs: ``name -> SliceInput``.
        video_ids: the batch's titles.

    Raises:
        ValueError: if a planned data file carries delete files (a merge-on-read table).
    """
    titles = list(dict.fromkeys(video_ids))
    snapshot_ids: dict[str, int | None] = {}
    files: dict[str, dict[str, tuple[str, ...]]] = {v: {} for v in titles}
    io_properties: dict[str, str] = {}
    for name, inp in inputs.items():
        table = store.table(inp.table)
        io_properties = io_properties or dict(table.io.properties)
        if inp.table not in snapshot_ids:
            snap = table.current_snapshot()
            snapshot_ids[inp.table] = snap.snapshot_id if snap else None
        snapshot_id = snapshot_ids[inp.table]
        if snapshot_id is None or not titles:
            continue
        field_id = table.schema().find_field("video_id").field_id
        scan = table.scan(row_filter=slices_filter(inp.slice(v) for v in titles), snapshot_id=snapshot_id)
        assigned: dict[str, list[str]] = {}
        for task in scan.plan_files():
            if task.delete_files:
                raise ValueError(f"{inp.table}: data file {task.file.file_path} has delete files; "
                                 "batch plans read copy-on-write tables only")
            for vid in _titles_within(titles, task.file.lower_bounds, task.file.upper_bounds, field_id):
                assigned.setdefault(vid, []).append(task.file.file_path)
        for vid in titles:
            files[vid][name] = tuple(assigned.get(vid, ()))
    return BatchPlan(dict(inputs), snapshot_ids, files, io_properties)


def _titles_within(titles: Iterable[str], lower: Mapping[int, bytes] | None, upper: Mapping[int, bytes] | None,
                   field_id: int) -> list[str]:
    """The titles a data file's ``video_id`` bounds admit (all of them when the file has no bounds).

    Iceberg may truncate string bounds: a truncated lower bound is a prefix of the true minimum and a
    truncated upper bound is above the true maximum, so ``lower <= title <= upper`` never drops a title
    the file holds.
    """
    lo = lower.get(field_id) if lower else None
    hi = upper.get(field_id) if upper else None
    lo_s = lo.decode("utf-8") if lo is not None else None
    hi_s = hi.decode("utf-8") if hi is not None else None
    return [v for v in titles if (lo_s is None or v >= lo_s) and (hi_s is None or v <= hi_s)]


def read_title_input(inp: SliceInput, video_id: str, paths: Sequence[str], io_properties: Mapping[str, str]) -> pa.Table:
    """One title's rows of ``inp`` from the planned ``paths``, in ``inp.columns`` (on an executor or anywhere).

    Columns added to the table after a file was written read as null, as every Iceberg reader sees them.
    Rows come in file order; sort them where order matters.
    """
    from pyiceberg.io import load_file_io

    schema = table_def(inp.table).arrow_schema
    out_schema = pa.schema([schema.field(c) for c in inp.columns])
    if not paths:
        return out_schema.empty_table()
    io = load_file_io(dict(io_properties), location=paths[0])
    filters = [("video_id", "=", video_id), ("feature", "=", inp.feature), ("feature_version", "=", inp.feature_version)]
    parts = []
    for path in paths:
        with io.new_input(path).open() as f:
            names = pq.ParquetFile(f).schema_arrow.names
            present = [c for c in inp.columns if c in names]
            f.seek(0)
            rows = pq.read_table(f, columns=present, filters=filters)  # row groups pruned by their statistics
        parts.append(pa.Table.from_arrays(
            [rows.column(c).cast(out_schema.field(c).type) if c in present else pa.nulls(rows.num_rows, out_schema.field(c).type)
             for c in inp.columns], schema=out_schema))
    return pa.concat_tables(parts)

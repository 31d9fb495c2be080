"""Analyst-query latency on a 1M-shot / 10,000-title feature store: embedded engine vs pyiceberg + pandas.

Run: ``.venv/bin/python -m benchmarks.sql [--titles 10000] [--shots-per-title 100] [--home DIR]``

What it builds (once; reused while its shape is unchanged, see ``synthetic-spec.json`` in ``--home``): a
synthetic feature store written through the real write path, the way one pipeline run writes it: the
rows of :func:`reelhouse.samples.synthetic_catalog.title_tables` (media, shots, shot embeddings,
shot_dedup, subtitle cues, match cuts; 10 % of titles on an older shots version, 1 % quarantined) are
written by :class:`SliceFileWriter`, one Parquet file per title per table, and each table's files are
committed in one :meth:`FeatureStore.commit_files`, then every table is compacted
(:meth:`FeatureStore.compact_all` merges each partition's files into one): the *compacted* store, as a
maintained catalog is after ``reelhouse compact``. The *uncompacted* store (``--uncompacted-titles``,
default 1,000) is a second store written the same way and never compacted: one small file per title per
table (about 6,000 data files). ``--uncompacted-titles 0`` measures instead the main store at its
pre-compaction snapshots (59,550 files at 10,000 titles); on the shared 2-core machine its cold queries
took 85-120 s each on both sides, too long for a routine run, which is why reelhouse compacts after
every run that writes and nightly.

What it measures, on each store, for every query in ``sql/``:

- embedded engine (:class:`DuckDBEngine`, Trino SQL over the Iceberg tables);
- baseline: pyiceberg plans the files (same filters pushed down to the manifests), pyarrow reads only
  the needed columns of those files (filters pushed down to the row groups), pandas/pyarrow compute the
  same answer the SQL defines.

*Cold*: per query, a fresh catalog load, a fresh engine (or baseline reader), pyiceberg's process-wide
manifest cache cleared, then the query; the time includes opening. *Warm*: one engine and one baseline
reader per store, each keeping what it caches (the engine its planned file lists; the baseline its loaded
tables, planned file lists per table and filter, and pyarrow datasets over them); one unmeasured run,
then the median of 3 runs. The full answers (rows sorted, floats within a tolerance, lists and
timestamps compared exactly) of the engine and the baseline are compared query by query, cold and warm,
and, with ``--uncompacted-titles 0`` (one catalog), the engine's answers on both stores too; any mismatch is printed and the process exits 1 (after the
last line). Timings are printed with the load average (the machine is shared).

Trino (issue 19; skipped with ``--no-trino``): the same queries on a single-node Trino server
(``infra/scripts/trino.sh``, the pinned release on loopback, read-only) over the same stores. Trino reads
reelhouse's catalog through JDBC in PostgreSQL, so each measured store's tables are registered (their
current metadata files, no data copied) in a database of a throwaway PostgreSQL server
(``infra/scripts/postgres.sh``); the embedded engine keeps reading the store's own SQLite catalog. *Cold*:
per query, a freshly started server (no JIT, no metadata or file cache) and a new connection answer
it; the time excludes the server start. *Warm*: one server per store; one unmeasured run, then the
median of 3. Trino's answers are compared with the embedded engine's, query by query, cold and warm.
Measured only where the stores are measured at their current snapshots (the default).

Target: every query warm < 1 s and cold < 2 s on both stores (embedded); on Trino, warm < 2 s. At the default size the build took 17 min
on the shared 2-core machine (11 min writing and committing 59,550 files, 6 min compacting; reused
afterwards); peak memory 3.3 GiB.

``--stores compacted`` (or ``uncompacted``) measures one store; keys of a store not measured are null and
``stores_measured`` names those that were.

Last line (one JSON object): ``max_warm_s``, ``max_cold_s`` (worst query over the measured stores),
``answers_equal``, ``trino_max_warm_s``, ``trino_max_cold_s``, ``trino_answers_equal`` (null when Trino was
not measured), then ``max_warm_s_compacted``, ``max_cold_s_compacted``, ``max_warm_s_uncompacted``,
``max_cold_s_uncompacted``, ``speedup_warm_vs_baseline``, ``speedup_cold_vs_baseline`` (baseline total
time over engine total time, both stores), ``titles``, ``shots``, then per-store baseline maxima and
speedups, data-file counts, load average, peak RSS (GiB) and the measured wall time (s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo, In
from pyiceberg.expressions.visitors import bind
from pyiceberg.io.pyarrow import expression_to_pyarrow
from pyiceberg.manifest import clear_manifest_cache
from pyiceberg.table import Table

from benchmarks.faults import free_port
from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id
from reelhouse.lakehouse.slice_files import SliceFileWriter
from reelhouse.lakehouse.schemas import table_def
from reelhouse.query import required_params
from reelhouse.query.duckdb_engine import DuckDBEngine
from reelhouse.samples.synthetic_catalog import VISUAL_FEATURE, SyntheticCatalogSpec, title_tables

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
TABLES = ("media", "encodes", "shots", "shot_frames", "shot_embeddings", "shot_audio", "subtitle_cues", "shot_dedup", "match_cuts",
          "scenes", "artwork", "regions", "shot_tags")
#: Bumped when the way the store is built changes, so a cached store of another layout is rebuilt.
LAYOUT = "one-run-uncompacted-then-compacted/4"  # 2: the registry's feature names (visual, flavor visual); 3: scenes,
# artwork, regions; 4: shot_tags
WARM_RUNS = 3
ROOT = Path(__file__).resolve().parents[1]
POSTGRES_SCRIPT = ROOT / "infra" / "scripts" / "postgres.sh"
TRINO_SCRIPT = ROOT / "infra" / "scripts" / "trino.sh"


# The store -----------------------------------------------------------------------------------
def build(home: Path, spec: SyntheticCatalogSpec, chunk_titles: int, compact: bool = True) -> dict[str, int]:
    """Build (or reuse) the store in ``home``; return the uncompacted snapshot id of each non-empty table.

    The write path of a pipeline run: :class:`SliceFileWriter` writes one Parquet file per title per
    table (as Spark executors do, here ``chunk_titles`` titles' rows at a time to bound memory), then
    :meth:`FeatureStore.commit_files` commits each table's files in one atomic commit. Then every table
    is compacted; the snapshots before compaction are the uncompacted store.
    """
    marker = home / "synthetic-spec.json"
    wanted = {"spec": spec.model_dump(), "layout": LAYOUT, "compacted": compact}
    if marker.exists():
        saved = json.loads(marker.read_text())
        if {k: saved.get(k, True if k == "compacted" else None) for k in wanted} == wanted:  # older markers: compacted
            print(f"reusing the synthetic store in {home} (built in {saved.get('build_s')} s + compaction {saved.get('compact_s')} s)")
            return {k: int(v) for k, v in saved["uncompacted_snapshots"].items()}
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    store = FeatureStore.from_settings(Settings(home=home))
    store.ensure_tables()
    t0 = time.perf_counter()
    run_id, when = new_run_id(), datetime.now(timezone.utc)
    writers: dict[str, SliceFileWriter] = {}
    files: dict[str, dict[FeatureSlice, list[str]]] = {}
    for start in range(0, spec.titles, chunk_titles):
        for n in range(start, min(spec.titles, start + chunk_titles)):
            for table, (slice_, data) in title_tables(spec, n).items():
                writer = writers.get(table) or writers.setdefault(table, store.file_writer(table, run_id))
                files.setdefault(table, {})[slice_] = [writer.write(slice_, data, when)]
        print(f"  wrote files of titles 0..{min(spec.titles, start + chunk_titles) - 1} ({time.perf_counter() - t0:.0f} s)", flush=True)
    rows = {table: store.commit_files(table, by_slice, run_id).rows for table, by_slice in files.items()}
    written = time.perf_counter() - t0
    print(f"  committed in {written:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()), flush=True)
    pins = {name: sid for name in TABLES if (sid := store.snapshot_id(name)) is not None}
    t1 = time.perf_counter()
    for result in (store.compact_all() if compact else ()):
        print(f"  compacted {result}")
    compacted = time.perf_counter() - t1
    print(f"built in {written:.0f} s + compaction {compacted:.0f} s")
    marker.write_text(json.dumps(wanted | {"uncompacted_snapshots": pins, "build_s": round(written, 1),
                                           "compact_s": round(compacted, 1)}))
    return pins


def data_files(store: FeatureStore, pins: Mapping[str, int]) -> int:
    """Data files of every table at the pinned (else current) snapshots."""
    total = 0
    for name in TABLES:
        table = store.table(name)
        if table.current_snapshot() is not None:
            total += sum(1 for _ in table.scan(snapshot_id=pins.get(name)).plan_files())
    return total


# Baseline: pyiceberg planning + pyarrow reads + pandas ---------------------------------------
class IcebergReader:
    """Reads table columns the way a careful pyiceberg + pandas user would.

    pyiceberg plans the data files (the row filter prunes by partition and column bounds in the
    manifests); pyarrow reads only the asked columns of those files, with the same filter pushed down to
    the Parquet row groups. With ``keep`` the reader caches like the engine does: loaded tables,
    planned files and the pyarrow dataset over them, per table and filter.
    """

    def __init__(self, home: Path, pins: Mapping[str, int], *, keep: bool) -> None:
        self.store = FeatureStore.from_settings(Settings(home=home))  # a fresh catalog connection
        self.pins = dict(pins)
        self.keep = keep
        self._tables: dict[str, Table] = {}
        self._plans: dict[tuple[str, str], tuple[ds.Dataset | None, pa.Schema, Any]] = {}

    def _table(self, name: str) -> Table:
        table = self._tables.get(name)
        if table is None:
            table = self.store.catalog.load_table(self.store.identifier(name))
            if self.keep:
                self._tables[name] = table
        return table

    def read(self, name: str, columns: list[str], row_filter: BooleanExpression = AlwaysTrue()) -> pa.Table:
        """Rows of table ``name`` matching ``row_filter``, only ``columns``."""
        key = (name, repr(row_filter))
        plan = self._plans.get(key)
        if plan is None:
            table = self._table(name)
            schema = table_def(name).arrow_schema
            if table.current_snapshot() is None:
                plan = (None, schema, None)
            else:
                tasks = table.scan(row_filter=row_filter, snapshot_id=self.pins.get(name)).plan_files()
                paths = [_local_path(t.file.file_path) for t in tasks]
                dataset = ds.dataset(paths, schema=schema, format="parquet") if paths else None
                arrow_filter = (None if row_filter == AlwaysTrue()
                                else expression_to_pyarrow(bind(table.schema(), row_filter, case_sensitive=True)))
                plan = (dataset, schema, arrow_filter)
            if self.keep:
                self._plans[key] = plan
        dataset, schema, arrow_filter = plan
        if dataset is None:
            return pa.schema([schema.field(c) for c in columns]).empty_table()
        return dataset.to_table(columns=columns, filter=arrow_filter)


def _local_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        raise ValueError(f"the baseline reads local warehouses only, got {uri}")
    return unquote(parsed.path) if parsed.scheme else uri


SLICE_COLUMNS = ["video_id", "feature_version", "written_at"]


def latest(rows: pa.Table, keys: tuple[str, ...] = ("video_id",)) -> pa.Table:
    """Rows of each key's latest slice: the feature_version written last (max written_at), ties to the
    greater version, as the SQL's ``row_number() ... ORDER BY max(written_at) DESC, feature_version DESC``."""
    slices = rows.group_by([*keys, "feature_version"]).aggregate([("written_at", "max")]).to_pandas()
    best = slices.sort_values(["written_at_max", "feature_version"]).groupby(list(keys)).tail(1)
    cols = [*keys, "feature_version"]
    best_t = pa.Table.from_pandas(best[cols], schema=pa.schema([rows.schema.field(c) for c in cols]), preserve_index=False)
    index = rows.select(cols).append_column("_row", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
    keep = index.join(best_t, cols, join_type="left semi").column("_row")
    return rows.take(np.sort(keep.to_numpy()))  # in the rows' order


def names(r: IcebergReader) -> pd.DataFrame:
    """Each title's latest media row (written_at, then feature_version, descending) with its file name."""
    media = r.read("media", ["video_id", "source_uri", "written_at", "feature_version", "status", "duration_s"]).to_pandas()
    media = media.sort_values(["written_at", "feature_version"]).groupby("video_id").tail(1)
    return media.assign(title=media.source_uri.str.rsplit("/", n=1).str[-1])


def timecode(seconds: pd.Series) -> list[str]:
    """HH:MM:SS.mmm as the queries' ``format('%02d:%02d:%06.3f', ...)``."""
    return [f"{int(np.floor(s / 3600)):02d}:{int(np.floor(np.fmod(s, 3600) / 60)):02d}:{np.fmod(s, 60):06.3f}" for s in seconds]


def base_shots_per_title(r: IcebergReader, p: Mapping[str, Any]) -> pd.DataFrame:
    shots = latest(r.read("shots", [*SLICE_COLUMNS, "start_s", "end_s"])).to_pandas()
    shots["shot_s"] = shots.end_s - shots.start_s
    stats = shots.groupby(["video_id", "feature_version"]).shot_s.agg(
        shot_count="count", shots_total_s="sum", mean_shot_s="mean", median_shot_s="median", min_shot_s="min",
        max_shot_s="max").reset_index()
    out = stats.merge(names(r)[["video_id", "source_uri", "duration_s"]], on="video_id", how="left")
    return out[["video_id", "source_uri", "duration_s", "feature_version", "shot_count", "shots_total_s", "mean_shot_s",
                "median_shot_s", "min_shot_s", "max_shot_s"]]


def base_shot_length_distribution(r: IcebergReader, p: Mapping[str, Any]) -> pd.DataFrame:
    flt = EqualTo("video_id", p["video_id"]) if p.get("video_id") is not None else AlwaysTrue()
    shots = latest(r.read("shots", [*SLICE_COLUMNS, "start_s", "end_s"], flt))
    x = pc.subtract(shots.column("end_s"), shots.column("start_s")).to_numpy()
    bucket = np.clip(np.floor(x).astype(np.int64) + 1, 1, 31)  # [k - 1, k) s in bucket k, 30 s and up in 31
    counts = pd.Series(bucket).value_counts().sort_index()
    return pd.DataFrame({"bucket": counts.index.astype(np.int64), "bucket_start_s": (counts.index - 1).astype(float),
                         "bucket_end_s": [None if b > 30 else float(b) for b in counts.index],
                         "shot_count": counts.to_numpy(), "share": counts.to_numpy() / counts.sum()})


def base_feature_coverage(r: IcebergReader, p: Mapping[str, Any]) -> pd.DataFrame:
    parts = []
    for t in TABLES:
        rows = r.read(t, ["video_id", "feature", "feature_version", "written_at"])
        agg = rows.group_by(["feature", "feature_version", "video_id"]).aggregate(
            [("written_at", "count"), ("written_at", "min"), ("written_at", "max")]).to_pandas()
        parts.append(agg.assign(table_name=t))
    slices = pd.concat(parts, ignore_index=True).rename(
        columns={"written_at_count": "row_count", "written_at_min": "first_at", "written_at_max": "last_at"})
    if p.get("feature") is not None:
        slices = slices[slices.feature == p["feature"]]
    media = names(r)
    ok = set(media.video_id[media.status == "ok"])
    tf = ["table_name", "feature"]
    versions = slices.groupby([*tf, "feature_version"]).agg(
        titles=("video_id", "size"), row_count=("row_count", "sum"), first_written_at=("first_at", "min"),
        last_written_at=("last_at", "max")).reset_index()
    newest = versions.sort_values(["last_written_at", "feature_version"]).groupby(tf).tail(1)[[*tf, "feature_version"]]
    holds = slices.merge(newest, on=[*tf, "feature_version"])[[*tf, "video_id"]]
    holders = holds.groupby(tf).video_id.agg(set)
    held = slices.merge(holds.assign(held=True), on=[*tf, "video_id"], how="left")
    held["ok_holding"] = held.video_id.isin(ok)
    held["lacking"] = held.held.isna()
    per_version = held.groupby([*tf, "feature_version"]).agg(ok_holding=("ok_holding", "sum"), lacking=("lacking", "sum")).reset_index()
    out = versions.merge(per_version, on=[*tf, "feature_version"]).merge(newest.assign(is_newest=True), on=[*tf, "feature_version"], how="left")
    out["is_newest"] = out.is_newest.eq(True)
    out["ok_titles"] = len(ok)
    out["coverage"] = out.ok_holding / len(ok) if ok else 0.0
    out["stale_titles"] = np.where(out.is_newest, 0, out.lacking)
    out["missing_titles"] = [len(ok - holders[(t, f)]) if n else None for t, f, n in zip(out.table_name, out.feature, out.is_newest)]
    now = datetime.now(timezone.utc)
    out["age_hours"] = [(now - ts).total_seconds() / 3600.0 for ts in out.last_written_at]
    return out[["table_name", "feature", "feature_version", "is_newest", "titles", "ok_titles", "coverage", "stale_titles",
                "missing_titles", "row_count", "first_written_at", "last_written_at", "age_hours"]]


def base_top_match_cuts(r: IcebergReader, p: Mapping[str, Any]) -> pd.DataFrame:
    flavor, top_n = p["flavor"], p.get("top_n") or 20
    flt = EqualTo("flavor", flavor) if flavor is not None else AlwaysTrue()
    cuts = latest(r.read("match_cuts", [*SLICE_COLUMNS, "feature", "flavor", "shot_index", "other_video_id",
                                        "other_shot_index", "score"], flt), ("video_id", "feature"))
    if p.get("video_id") is not None:
        cuts = cuts.filter(pc.or_(pc.equal(cuts.column("video_id"), p["video_id"]), pc.equal(cuts.column("other_video_id"), p["video_id"])))
    if p.get("min_score") is not None:
        cuts = cuts.filter(pc.greater_equal(cuts.column("score"), p["min_score"]))
    # A pair is stored at most twice, so only rows at or above a flavor's (2 * top_n)-th best score can rank.
    kept = []
    for fl in pc.unique(cuts.column("flavor")).to_pylist():
        rows = cuts.filter(pc.equal(cuts.column("flavor"), fl))
        floor = pc.min(rows.column("score").take(pc.select_k_unstable(rows, 2 * top_n, [("score", "descending")])))
        kept.append(rows.filter(pc.greater_equal(rows.column("score"), floor)).to_pandas())
    c = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=["flavor", "video_id", "shot_index", "other_video_id", "other_shot_index", "score"])
    first = (c.video_id < c.other_video_id) | ((c.video_id == c.other_video_id) & (c.shot_index <= c.other_shot_index))
    pairs = pd.DataFrame({"flavor": c.flavor, "score": c.score,
                          "a": np.where(first, c.video_id, c.other_video_id), "ai": np.where(first, c.shot_index, c.other_shot_index),
                          "b": np.where(first, c.other_video_id, c.video_id), "bi": np.where(first, c.other_shot_index, c.shot_index)})
    pairs = pairs.groupby(["flavor", "a", "ai", "b", "bi"], as_index=False).score.max()
    pairs = pairs.sort_values(["flavor", "score", "a", "ai", "b", "bi"], ascending=[True, False, True, True, True, True])
    pairs["pair_rank"] = pairs.groupby("flavor").cumcount() + 1
    top = pairs[pairs.pair_rank <= top_n]
    ids = sorted(set(top.a) | set(top.b))
    shots = latest(r.read("shots", [*SLICE_COLUMNS, "shot_index", "start_s", "end_s"], In("video_id", ids))).to_pandas() if ids else \
        pd.DataFrame(columns=["video_id", "shot_index", "start_s", "end_s"])
    shots = shots.assign(start_tc=timecode(shots.start_s), end_tc=timecode(shots.end_s))[["video_id", "shot_index", "start_tc", "end_tc"]]
    title = names(r).set_index("video_id").title
    out = (top.merge(shots.rename(columns={"video_id": "a", "shot_index": "ai"}), on=["a", "ai"], how="left")
           .merge(shots.rename(columns={"video_id": "b", "shot_index": "bi", "start_tc": "other_start_tc", "end_tc": "other_end_tc"}),
                  on=["b", "bi"], how="left"))
    out["title"] = out.a.map(title)
    out["other_title"] = out.b.map(title)
    out = out.rename(columns={"a": "video_id", "ai": "shot_index", "b": "other_video_id", "bi": "other_shot_index"})
    return out[["flavor", "pair_rank", "score", "video_id", "title", "shot_index", "start_tc", "end_tc", "other_video_id",
                "other_title", "other_shot_index", "other_start_tc", "other_end_tc"]]


def base_shots_in_time_range(r: IcebergReader, p: Mapping[str, Any]) -> pd.DataFrame:
    start, end, key = p["start_s"], p["end_s"], p["title"]
    media = names(r)
    picked = media[(media.video_id == key) | media.video_id.str.startswith(key.lower()) | (media.title == key)][["video_id", "title"]]
    ids = list(picked.video_id)
    if not ids:
        return pd.DataFrame(columns=["video_id", "title", "shot_index", "start_s", "end_s", "start_tc", "duration_s", "transition", "subtitle_text"])
    shots = latest(r.read("shots", [*SLICE_COLUMNS, "shot_index", "start_s", "end_s", "transition"], In("video_id", ids))).to_pandas()
    shots = shots[(shots.start_s < end) & (shots.end_s > start)]
    cues = latest(r.read("subtitle_cues", [*SLICE_COLUMNS, "cue_index", "start_s", "end_s", "text"], In("video_id", ids))).to_pandas()
    cues = cues[(cues.cue_index >= 0) & (cues.start_s < end) & (cues.end_s > start)].sort_values("start_s")
    texts = []
    for v, s, e in zip(shots.video_id, shots.start_s, shots.end_s):
        hit = cues.text[(cues.video_id == v) & (cues.start_s < e) & (cues.end_s > s)]
        texts.append(" ".join(hit) if len(hit) else None)
    out = shots.merge(picked, on="video_id").assign(subtitle_text=texts if len(shots) else [])
    out = out.assign(start_tc=timecode(out.start_s), duration_s=out.end_s - out.start_s)
    return out[["video_id", "title", "shot_index", "start_s", "end_s", "start_tc", "duration_s", "transition", "subtitle_text"]]


def base_near_duplicate_groups(r: IcebergReader, p: Mapping[str, Any]) -> pd.DataFrame:
    min_size = p.get("min_size") if p.get("min_size") is not None else 2
    flt = EqualTo("video_id", p["video_id"]) if p.get("video_id") is not None else AlwaysTrue()
    dedup = latest(r.read("shot_dedup", [*SLICE_COLUMNS, "shot_index", "group_shot_index", "is_kept", "similarity", "threshold"], flt))
    if min_size > 1:  # only groups with a member besides the kept shot
        shared = dedup.filter(pc.invert(dedup.column("is_kept"))).select(["video_id", "group_shot_index"]).group_by(
            ["video_id", "group_shot_index"]).aggregate([])
        dedup = dedup.join(shared, ["video_id", "group_shot_index"], join_type="left semi")
    dedup = dedup.sort_by([("video_id", "ascending"), ("group_shot_index", "ascending"), ("shot_index", "ascending")])
    groups = dedup.group_by(["video_id", "group_shot_index"], use_threads=False).aggregate(
        [("shot_index", "count"), ("shot_index", "list"), ("similarity", "min"), ("threshold", "max")]).to_pandas()
    groups = groups.rename(columns={"shot_index_count": "group_size", "shot_index_list": "shot_indexes",
                                    "similarity_min": "min_similarity", "threshold_max": "threshold"})
    groups = groups[groups.group_size >= min_size]
    out = groups.merge(names(r)[["video_id", "title"]], on="video_id", how="left")
    return out[["video_id", "title", "group_shot_index", "group_size", "shot_indexes", "min_similarity", "threshold"]]


def base_subtitle_search(r: IcebergReader, p: Mapping[str, Any]) -> pd.DataFrame:
    flt = EqualTo("video_id", p["video_id"]) if p.get("video_id") is not None else AlwaysTrue()
    cues = latest(r.read("subtitle_cues", [*SLICE_COLUMNS, "cue_index", "start_s", "end_s", "text"], flt))
    hit = pc.and_(pc.greater_equal(cues.column("cue_index"), 0),
                  pc.match_substring(pc.utf8_lower(cues.column("text")), p["phrase"].lower()))
    hits = cues.filter(hit).to_pandas()[["video_id", "cue_index", "start_s", "end_s", "text"]]
    ids = sorted(set(hits.video_id))
    shots = latest(r.read("shots", [*SLICE_COLUMNS, "shot_index", "start_s", "end_s"], In("video_id", ids))).to_pandas() if ids else \
        pd.DataFrame(columns=["video_id", "shot_index", "start_s", "end_s"])
    both = hits.merge(shots[["video_id", "shot_index", "start_s", "end_s"]], on="video_id", suffixes=("", "_shot"))
    both = both[(both.start_s >= both.start_s_shot) & (both.start_s < both.end_s_shot)]
    out = hits.merge(both[["video_id", "cue_index", "shot_index"]], on=["video_id", "cue_index"], how="left")
    out = out.merge(names(r)[["video_id", "title"]], on="video_id", how="left").assign(start_tc=lambda d: timecode(d.start_s))
    return out[["video_id", "title", "cue_index", "start_s", "end_s", "start_tc", "text", "shot_index"]]


def base_similar_shots(r: IcebergReader, p: Mapping[str, Any]) -> pd.DataFrame:
    vid, other = p["video_id"], p.get("other_video_id") or p["video_id"]
    flt = And(EqualTo("feature", p["feature"]), In("video_id", sorted({vid, other})))
    emb = latest(r.read("shot_embeddings", [*SLICE_COLUMNS, "shot_index", "has_embedding", "embedding"], flt))
    emb = emb.filter(emb.column("has_embedding"))
    vids = np.asarray(emb.column("video_id").to_pylist(), dtype=object)
    shot = emb.column("shot_index").to_numpy()
    vectors = np.stack(emb.column("embedding").to_numpy(zero_copy_only=False)).astype(np.float64) if emb.num_rows else np.zeros((0, 1))
    at = np.flatnonzero((vids == vid) & (shot == p["shot_index"]))
    if not len(at):
        return pd.DataFrame(columns=["rank", "other_video_id", "other_shot_index", "similarity"])
    query = vectors[at[0]]
    sims = vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    cand = pd.DataFrame({"other_video_id": vids, "other_shot_index": shot, "similarity": sims})
    cand = cand[(cand.other_video_id == other) & ~((cand.other_video_id == vid) & (cand.other_shot_index == p["shot_index"]))]
    cand = cand.sort_values(["similarity", "other_video_id", "other_shot_index"], ascending=[False, True, True]).head(p.get("top_n") or 10)
    return cand.assign(rank=np.arange(1, len(cand) + 1))[["rank", "other_video_id", "other_shot_index", "similarity"]]


BASELINES: dict[str, Callable[[IcebergReader, Mapping[str, Any]], pd.DataFrame]] = {
    "shots_per_title": base_shots_per_title, "shot_length_distribution": base_shot_length_distribution,
    "feature_coverage": base_feature_coverage, "top_match_cuts": base_top_match_cuts,
    "shots_in_time_range": base_shots_in_time_range, "near_duplicate_groups": base_near_duplicate_groups,
    "subtitle_search": base_subtitle_search, "similar_shots": base_similar_shots,
}

#: Per-column absolute tolerances beyond the default (1e-9 relative and absolute):
#: ``age_hours`` is "now" minus a write time, and the two sides read "now" seconds apart.
TOLERANCE: dict[str, dict[str, float]] = {
    "feature_coverage": {"age_hours": 0.5},
}


# Comparing answers -------------------------------------------------------------------------------
def _normal(df: pd.DataFrame) -> pd.DataFrame:
    """Comparable columns: lists as tuples, timestamps as UTC nanoseconds, nulls as None / NaN."""
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = pd.to_datetime(s, utc=True).astype("int64")
        elif s.dtype == object and len(s) and any(isinstance(v, (list, np.ndarray)) for v in s):
            s = s.map(lambda v: tuple(int(x) for x in v) if v is not None else None)
        elif s.dtype == object and len(s) and all(isinstance(v, (int, float, np.number)) or v is None or v is pd.NA
                                                   for v in s) and any(isinstance(v, (float, np.floating)) for v in s):
            s = pd.to_numeric(s, errors="coerce")
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
            s = s.astype("int64")
        out[col] = s.reset_index(drop=True)
    return pd.DataFrame(out)


def compare(query: str, engine: pa.Table, base: pd.DataFrame) -> str | None:
    """None when both answers are the same rows (any order); else what differs."""
    e = engine.to_pandas()
    if list(e.columns) != list(base.columns):
        return f"columns differ: engine {list(e.columns)}, baseline {list(base.columns)}"
    if len(e) != len(base):
        return f"row counts differ: engine {len(e)}, baseline {len(base)}"
    e, b = _normal(e), _normal(base)
    floats = [c for c in e.columns if pd.api.types.is_float_dtype(e[c]) or pd.api.types.is_float_dtype(b[c])]
    for c in floats:
        e[c], b[c] = pd.to_numeric(e[c], errors="coerce").astype(float), pd.to_numeric(b[c], errors="coerce").astype(float)
    loose = TOLERANCE.get(query, {})
    keys = [c for c in e.columns if c not in floats] + [c for c in floats if c not in loose]
    rounded = {c: (lambda s: s.round(6)) for c in floats}
    e = e.sort_values(keys, key=lambda s: rounded[s.name](s) if s.name in rounded else s.map(repr), kind="stable").reset_index(drop=True)
    b = b.sort_values(keys, key=lambda s: rounded[s.name](s) if s.name in rounded else s.map(repr), kind="stable").reset_index(drop=True)
    for c in e.columns:
        if c in floats:
            x, y = e[c].to_numpy(), b[c].to_numpy()
            tol = loose.get(c, 0.0)
            same = (np.isnan(x) & np.isnan(y)) | np.isclose(x, y, rtol=1e-9, atol=max(tol, 1e-9))
        else:
            same = np.array([_same(u, v) for u, v in zip(e[c], b[c])], dtype=bool)
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            return f"column {c!r} differs in {int((~same).sum())} row(s), e.g. engine {e.iloc[i].to_dict()} vs baseline {b.iloc[i].to_dict()}"
    return None


def _same(u: object, v: object) -> bool:
    nu, nv = u is None or (isinstance(u, float) and np.isnan(u)), v is None or (isinstance(v, float) and np.isnan(v))
    if nu or nv:
        return nu and nv
    return bool(u == v)


# Measuring ---------------------------------------------------------------------------------------
def bound_queries(params: Mapping[str, dict]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """The ``sql/`` queries by name, and each one's parameters: ``params``' values, NULL for the rest."""
    queries = {path.stem: path.read_text() for path in sorted(SQL_DIR.glob("*.sql"))}
    return queries, {q: {p: None for p in required_params(text)} | dict(params.get(q, {})) for q, text in queries.items()}


def warm(run: Callable[[], Any]) -> tuple[Any, float]:
    """``run()`` once unmeasured, then ``WARM_RUNS`` times: the last answer and the median seconds."""
    answer = run()
    times = []
    for _ in range(WARM_RUNS):
        t = time.perf_counter()
        answer = run()
        times.append(time.perf_counter() - t)
    return answer, statistics.median(times)


def measure(home: Path, label: str, pins: Mapping[str, int], params: Mapping[str, dict]) -> tuple[dict[str, dict], dict[str, pa.Table], list[str]]:
    """Cold and warm times of every query on one store (pinned to ``pins``), engine and baseline.

    Returns:
        Per query: cold/warm seconds of both sides; the engine's answers; mismatch messages.
    """
    queries, bound = bound_queries(params)
    results: dict[str, dict] = {q: {} for q in queries}
    answers: dict[str, pa.Table] = {}
    problems: list[str] = []

    def check(q: str, when: str, table: pa.Table, base: pd.DataFrame) -> None:
        err = compare(q, table, base)
        if err:
            problems.append(f"{label} {when} {q}: {err}")
            print(f"  ANSWERS DIFFER ({label}, {when}) {q}: {err}", flush=True)

    print(f"--- {label} store: cold (fresh catalog + engine / reader per query)  load {os.getloadavg()[0]:.2f}", flush=True)
    for q, text in queries.items():
        clear_manifest_cache()
        t = time.perf_counter()
        engine = DuckDBEngine(FeatureStore.from_settings(Settings(home=home)).catalog, snapshot_ids=pins)
        table = engine.execute(text, bound[q])
        results[q]["cold_s"] = time.perf_counter() - t
        engine.close()
        clear_manifest_cache()
        t = time.perf_counter()
        base = BASELINES[q](IcebergReader(home, pins, keep=False), bound[q])
        results[q]["base_cold_s"] = time.perf_counter() - t
        check(q, "cold", table, base)
        answers[q] = table
        results[q]["rows"] = table.num_rows
        print(f"  {q:26s} rows {table.num_rows:>7,} | engine {results[q]['cold_s']:6.3f} s | baseline "
              f"{results[q]['base_cold_s']:7.3f} s | load {os.getloadavg()[0]:.2f}", flush=True)

    print(f"--- {label} store: warm (one engine / reader, median of {WARM_RUNS} after one unmeasured run)", flush=True)
    engine = DuckDBEngine(FeatureStore.from_settings(Settings(home=home)).catalog, snapshot_ids=pins)
    reader = IcebergReader(home, pins, keep=True)
    for q, text in queries.items():
        table, results[q]["warm_s"] = warm(lambda: engine.execute(text, bound[q]))
        base, results[q]["base_warm_s"] = warm(lambda: BASELINES[q](reader, bound[q]))
        check(q, "warm", table, base)
        print(f"  {q:26s} rows {table.num_rows:>7,} | engine {results[q]['warm_s']:6.3f} s | baseline "
              f"{results[q]['base_warm_s']:7.3f} s | {results[q]['base_warm_s'] / results[q]['warm_s']:5.1f}x | "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
    engine.close()
    return results, answers, problems


# Trino ---------------------------------------------------------------------------------------------
def _script(args: list[str], env: Mapping[str, str] | None = None, timeout: float = 1500) -> str:
    done = subprocess.run(["bash", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed (exit {done.returncode}): {done.stderr.strip()[-3000:]}")
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def register_in_postgres(home: Path, postgres_url: str, database: str) -> Settings:
    """Settings whose catalog is ``database`` on the server, holding the store's tables at their current
    metadata files (registered, no data copied); the warehouse is the store's own."""
    import psycopg2

    base = postgres_url.rsplit("/", 1)[0]
    con = psycopg2.connect(postgres_url.replace("postgresql+psycopg2://", "postgresql://", 1))
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{database}"')
        cur.execute(f'CREATE DATABASE "{database}"')
    con.close()
    source = FeatureStore.from_settings(Settings(home=home))
    settings = Settings(home=home, catalog_uri=f"{base}/{database}")
    target = FeatureStore.from_settings(settings)
    target.catalog.create_namespace_if_not_exists(settings.namespace)
    for name in TABLES:
        target.catalog.register_table(target.identifier(name), source.table(name).metadata_location)
    return settings


class TrinoServer:
    """``infra/scripts/trino.sh`` for one store: start, stop, and a connection-per-query engine."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings, self.folder, self.port = settings, folder, free_port()
        self.env = {"REELHOUSE_HOME": str(settings.home), "REELHOUSE_CATALOG_URI": settings.resolved_catalog_uri,
                    "TRINO_HEAP": os.environ.get("TRINO_HEAP", "4G"),
                    "TRINO_QUERY_MEMORY": os.environ.get("TRINO_QUERY_MEMORY", "2GB")}

    def start(self) -> None:
        _script([str(TRINO_SCRIPT), "start", str(self.folder), str(self.port)], self.env)

    def stop(self) -> None:
        _script([str(TRINO_SCRIPT), "stop", str(self.folder)], timeout=120)

    def engine(self):
        from reelhouse.query.trino_engine import TrinoEngine

        return TrinoEngine(host="127.0.0.1", port=self.port, catalog=self.settings.trino.catalog,
                           schema=self.settings.namespace)


def measure_trino(server: TrinoServer, label: str, params: Mapping[str, dict],
                  embedded: Mapping[str, pa.Table]) -> tuple[dict[str, dict], list[str]]:
    """Cold (a fresh server per query) and warm times of every query on Trino; answers checked against
    the embedded engine's."""
    queries, bound = bound_queries(params)
    results: dict[str, dict] = {q: {} for q in queries}
    problems: list[str] = []

    def check(q: str, when: str, table: pa.Table) -> None:
        err = compare(q, table, embedded[q].to_pandas())
        if err:
            problems.append(f"trino {label} {when} {q}: {err}")
            print(f"  ANSWERS DIFFER (trino vs embedded, {label}, {when}) {q}: {err}", flush=True)

    print(f"--- {label} store on Trino: cold (a freshly started server per query)  load {os.getloadavg()[0]:.2f}", flush=True)
    for q, text in queries.items():
        t = time.perf_counter()
        server.start()
        started = time.perf_counter() - t
        try:
            with server.engine() as engine:
                t = time.perf_counter()
                table = engine.execute(text, bound[q])
                results[q]["cold_s"] = time.perf_counter() - t
        finally:
            server.stop()
        check(q, "cold", table)
        print(f"  {q:26s} rows {table.num_rows:>7,} | trino {results[q]['cold_s']:6.3f} s (server start "
              f"{started:.0f} s) | load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"--- {label} store on Trino: warm (one server, median of {WARM_RUNS} after one unmeasured run)", flush=True)
    server.start()
    try:
        with server.engine() as engine:
            for q, text in queries.items():
                table, results[q]["warm_s"] = warm(lambda: engine.execute(text, bound[q]))
                check(q, "warm", table)
                print(f"  {q:26s} rows {table.num_rows:>7,} | trino {results[q]['warm_s']:6.3f} s | load "
                      f"{os.getloadavg()[0]:.2f}", flush=True)
    finally:
        server.stop()
    return results, problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--titles", type=int, default=10_000)
    ap.add_argument("--shots-per-title", type=int, default=100)
    ap.add_argument("--chunk-titles", type=int, default=500, help="titles generated at a time when building (memory bound)")
    ap.add_argument("--home", type=Path, default=Path(".reelhouse/bench/sql-store"))
    ap.add_argument("--stores", default="uncompacted,compacted",
                    help="stores to measure, comma-separated")
    ap.add_argument("--uncompacted-titles", type=int, default=1_000,
                    help="titles of the uncompacted store; 0: the --titles store before its compaction (59,550 files "
                         "at 10,000 titles: minutes per query)")
    ap.add_argument("--no-trino", action="store_true", help="measure the embedded engine and the baseline only")
    args = ap.parse_args()

    def catalog_spec(titles: int) -> SyntheticCatalogSpec:
        return SyntheticCatalogSpec(titles=titles, shots_per_title=args.shots_per_title, dim=64, cues_per_title=20,
                                    match_cuts_per_shot=3, stale_share=0.1, quarantined_share=0.01, seed=0)

    wanted = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not wanted or set(wanted) - {"uncompacted", "compacted"}:
        ap.error(f"--stores takes uncompacted and/or compacted, got {args.stores!r}")
    t_build = time.perf_counter()
    pins = build(args.home, catalog_spec(args.titles), args.chunk_titles)
    # The uncompacted store: the main store's pre-compaction snapshots, or (default) a smaller store that was
    # never compacted, so that every query can be measured on it in a routine run.
    raw_home, raw_pins = args.home, pins
    if args.uncompacted_titles and "uncompacted" in wanted:
        raw_home = args.home.with_name(args.home.name + "-uncompacted")
        build(raw_home, catalog_spec(args.uncompacted_titles), args.chunk_titles, compact=False)
        raw_pins = {}
    build_s = time.perf_counter() - t_build
    t0 = time.perf_counter()
    homes = {"compacted": (args.home, {}), "uncompacted": (raw_home, raw_pins)}
    files, params, titles_of = {}, {}, {}
    for label, (home, store_pins) in homes.items():
        store = FeatureStore.from_settings(Settings(home=home))
        shots = store.read("shots", selected_fields=("video_id",), snapshot_id=store_pins.get("shots")).column("video_id")
        vid = shots[0].as_py()
        files[label], titles_of[label] = data_files(store, store_pins), len(pc.unique(shots))
        print(f"{label} store: {len(shots):,} shots over {titles_of[label]:,} titles in {files[label]:,} data files ({home})")
        params[label] = {
            "shots_in_time_range": {"title": vid[:10], "start_s": 60.0, "end_s": 180.0},
            "subtitle_search": {"phrase": "river bridge"},
            "similar_shots": {"feature": VISUAL_FEATURE, "video_id": vid, "shot_index": 8},
            "top_match_cuts": {"flavor": "visual"},
        }
        if label == "compacted":
            n_shots = len(shots)
    stores: dict[str, dict[str, dict]] = {}
    problems: list[str] = []
    answers: dict[str, dict[str, pa.Table]] = {}
    for label in ("uncompacted", "compacted"):
        if label not in wanted:
            continue
        home, store_pins = homes[label]
        stores[label], answers[label], found = measure(home, label, store_pins, params[label])
        problems += found
    trino: dict[str, dict[str, dict]] = {}
    if not args.no_trino and not any(homes[lb][1] for lb in stores):  # Trino reads current snapshots only
        work = Path(tempfile.mkdtemp(prefix="reelhouse-sql-bench-", dir="/tmp"))
        pg = Path(tempfile.mkdtemp(prefix="reelhouse-sql-bench-pg-", dir="/tmp"))  # its own: postgres.sh chowns it
        pg_url = _script([str(POSTGRES_SCRIPT), "start", str(pg), str(free_port())])
        try:
            for label in ("uncompacted", "compacted"):
                if label not in stores:
                    continue
                settings = register_in_postgres(homes[label][0], pg_url, f"sql_bench_{label}")
                trino[label], found = measure_trino(TrinoServer(settings, work / f"trino-{label}"), label,
                                                    params[label], answers[label])
                problems += found
        finally:
            _script([str(POSTGRES_SCRIPT), "stop", str(pg)], timeout=120)
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(pg, ignore_errors=True)
    same_catalog = raw_home == args.home
    for q, table in (answers["compacted"].items() if len(answers) == 2 and same_catalog else ()):
        err = compare(q, table, answers["uncompacted"][q].to_pandas())  # the engine gives the same rows on both stores
        if err:
            problems.append(f"engine, compacted vs uncompacted, {q}: {err}")
            print(f"  ANSWERS DIFFER between the stores, {q}: {err}", flush=True)

    def worst(label: str, key: str) -> float | None:
        return round(max(r[key] for r in stores[label].values()), 3) if label in stores else None

    def speedup(labels: tuple[str, ...], key: str) -> float | None:
        labels = tuple(lb for lb in labels if lb in stores)
        if not labels:
            return None
        return round(sum(stores[lb][q][f"base_{key}"] for lb in labels for q in stores[lb]) / sum(
            stores[lb][q][key] for lb in labels for q in stores[lb]), 1)

    both = tuple(lb for lb in ("compacted", "uncompacted") if lb in stores)
    max_warm, max_cold = max(worst(lb, "warm_s") for lb in both), max(worst(lb, "cold_s") for lb in both)
    measure_s = time.perf_counter() - t0
    print(f"max warm {max_warm:.3f} s (target < 1 s: {'met' if max_warm < 1 else 'NOT met'}); max cold {max_cold:.3f} s "
          f"(target < 2 s: {'met' if max_cold < 2 else 'NOT met'}); answers {'equal' if not problems else 'DIFFER'}; "
          f"measured in {measure_s:.0f} s, load {os.getloadavg()[0]:.2f}")
    for p in problems:
        print("MISMATCH: " + p)
    def trino_worst(key: str, labels: tuple[str, ...]) -> float | None:
        values = [r[key] for lb in labels if lb in trino for r in trino[lb].values()]
        return round(max(values), 3) if values else None

    if trino:
        print(f"trino: max warm {trino_worst('warm_s', both)} s (target < 2 s), max cold {trino_worst('cold_s', both)} s")
    summary: dict[str, object] = {
        "max_warm_s": round(max_warm, 3), "max_cold_s": round(max_cold, 3),
        "answers_equal": not [p for p in problems if not p.startswith("trino")],
        "trino_max_warm_s": trino_worst("warm_s", both), "trino_max_cold_s": trino_worst("cold_s", both),
        "trino_answers_equal": (not any(p.startswith("trino") for p in problems)) if trino else None,
        "max_warm_s_compacted": worst("compacted", "warm_s"), "max_cold_s_compacted": worst("compacted", "cold_s"),
        "max_warm_s_uncompacted": worst("uncompacted", "warm_s"), "max_cold_s_uncompacted": worst("uncompacted", "cold_s"),
        "speedup_warm_vs_baseline": speedup(both, "warm_s"), "speedup_cold_vs_baseline": speedup(both, "cold_s"),
        "titles": args.titles, "shots": n_shots, "stores_measured": list(both),
        "titles_uncompacted": titles_of["uncompacted"],
    }
    for lb in ("compacted", "uncompacted"):
        summary[f"baseline_max_warm_s_{lb}"] = worst(lb, "base_warm_s")
        summary[f"baseline_max_cold_s_{lb}"] = worst(lb, "base_cold_s")
        summary[f"speedup_warm_vs_baseline_{lb}"] = speedup((lb,), "warm_s")
        summary[f"speedup_cold_vs_baseline_{lb}"] = speedup((lb,), "cold_s")
        summary[f"data_files_{lb}"] = files[lb]
        summary[f"trino_max_warm_s_{lb}"] = trino_worst("warm_s", (lb,))
        summary[f"trino_max_cold_s_{lb}"] = trino_worst("cold_s", (lb,))
    summary["trino_s"] = {lb: {q: {k: round(v, 3) for k, v in r.items()} for q, r in res.items()} for lb, res in trino.items()}
    summary |= {"load_avg_1m": round(os.getloadavg()[0], 2), "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
                "measure_s": round(measure_s, 1), "build_s": round(build_s, 1)}
    print(json.dumps(summary))
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()

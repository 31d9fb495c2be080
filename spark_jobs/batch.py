"""The batch runner every per-title Spark job runs on.

A job (:class:`TitleJob`) declares what it reads per title (``SliceInput``\\ s), the feature versions it
writes (``FeatureSpec``\\ s) and a per-title function ``compute(video_id, inputs) -> {feature: rows}``.
For a batch of titles the runner:

1. plans every input's data files once, from one snapshot per table, on the driver
   (:func:`reelhouse.lakehouse.plan.plan_batch`): task rows carry a title and its file URIs, never payloads;
2. runs one ``applyInPandas`` group per title: the executor reads its title's rows from those files,
   computes, and writes each output slice as a Parquet file (:class:`reelhouse.lakehouse.SliceFileWriter`);
3. checks on the driver that every title came back, and commits once per table and batch.

A title that fails (its upstream missing, its file unreadable) is reported with its error and
written nowhere; the other titles of the batch are committed. Driver memory holds the plan (file URIs)
and one small result row per title and output: it is flat in the bytes a batch reads and writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
from pyspark.sql import SparkSession

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.features.outcome import StageOutcome, TitleFailures, split_memoized
from reelhouse.lakehouse import FeatureSlice, FeatureStore, WriteResult
from reelhouse.lakehouse.plan import BatchPlan, SliceInput, plan_batch, read_title_input
from spark_jobs.session import driver_frame, get_spark
from spark_jobs.titles import partition_by_title

#: ``compute(video_id, inputs) -> {output feature name: rows}``; runs on an executor, once per title.
#: ``inputs`` maps the job's input names to the title's rows (possibly empty tables).
TitleCompute = Callable[[str, Mapping[str, pa.Table]], Mapping[str, pa.Table]]


@dataclass(frozen=True)
class TitleJob:
    """A per-title Spark job.

    Attributes:
        name: what the job computes, for messages ("shots", "visual features").
        inputs: ``name -> SliceInput`` read for each title.
        outputs: the feature versions written; ``compute`` returns rows keyed by their names.
        compute: the per-title function (picklable: a module function or a closure over small values).
        required: input names whose rows a title must have (a title without them fails as not ready).
    """

    name: str
    inputs: Mapping[str, SliceInput]
    outputs: Sequence[FeatureSpec]
    compute: TitleCompute
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchResult:
    """What one batch did.

    Attributes:
        writes: ``table -> WriteResult`` of its one commit.
        rows: ``(video_id, feature) -> rows written``.
        failed: ``video_id -> error`` of titles written nowhere.
        snapshot_ids: the input snapshots the batch was planned from.
    """

    writes: Mapping[str, WriteResult]
    rows: Mapping[tuple[str, str], int]
    failed: Mapping[str, str] = field(default_factory=dict)
    snapshot_ids: Mapping[str, int | None] = field(default_factory=dict)


RESULT_SCHEMA = "video_id string, table string, feature string, path string, rows long, error string"


def _title_task(job: TitleJob, writers: Mapping[str, object], io_properties: Mapping[str, str]):
    """The ``applyInPandas`` function of ``job``: one group = one title's task row."""
    inputs, outputs, compute = dict(job.inputs), list(job.outputs), job.compute

    def fn(pdf: pd.DataFrame) -> pd.DataFrame:
        video_id = str(pdf["video_id"].iloc[0])
        files = json.loads(pdf["files"].iloc[0])
        try:
            rows = {name: read_title_input(inp, video_id, files.get(name, ()), io_properties) for name, inp in inputs.items()}
            produced = compute(video_id, rows)
            out = []
            for spec in outputs:
                table = produced[spec.name]
                slice_ = FeatureSlice(video_id, spec.name, spec.version)
                path = writers[spec.table].write(slice_, table) if table.num_rows else ""
                out.append((video_id, spec.table, spec.name, path, table.num_rows, ""))
        except Exception as exc:  # reported per title; the batch goes on
            out = [(video_id, "", "", "", 0, f"{type(exc).__name__}: {exc}")]
        return pd.DataFrame(out, columns=["video_id", "table", "feature", "path", "rows", "error"])

    return fn


def run_batch(spark: SparkSession, store: FeatureStore, job: TitleJob, video_ids: Sequence[str], run_id: str,
              plan: BatchPlan | None = None) -> BatchResult:
    """Run ``job`` for ``video_ids`` as one batch: one Spark job, one commit per output table.

    Args:
        plan: the batch's input plan (default: planned here from the tables' current snapshots).
    """
    titles = list(dict.fromkeys(video_ids))
    plan = plan or plan_batch(store, job.inputs, titles)
    missing = plan.missing()
    failed = {v: f"TitleNotReady: title {v} has no {', '.join(sorted(missing[v]))} rows for their current versions"
              for v in titles if set(missing.get(v, ())) & set(job.required)}
    runnable = [v for v in titles if v not in failed]
    results: list = []
    if runnable:
        writers = {spec.table: store.file_writer(spec.table, run_id) for spec in job.outputs}
        tasks = partition_by_title(
            driver_frame(spark, [(v, plan.title_files_json(v)) for v in runnable], "video_id string, files string"),
            len(runnable))
        sc = spark.sparkContext
        # Spark names a stage after its call site (this module); the description names the job's own module.
        sc.setJobDescription(f"{job.compute.__module__.replace('.', '/')}.py: {job.name}, {len(runnable)} title(s)")
        try:
            results = tasks.groupBy("video_id").applyInPandas(
                _title_task(job, writers, dict(plan.io_properties)), RESULT_SCHEMA).collect()
        finally:
            sc.setJobDescription(None)  # type: ignore[arg-type]
    came_back = {r.video_id for r in results}
    failed.update({v: f"RuntimeError: no result came back for title {v}" for v in runnable if v not in came_back})
    failed.update({r.video_id: r.error for r in results if r.error})
    written = {(r.video_id, r.feature) for r in results if r.path}
    for spec in job.outputs:  # every output of a title, or the title fails as a whole
        for v in runnable:
            if v not in failed and (v, spec.name) not in written:
                failed[v] = f"RuntimeError: no {spec.name} rows were produced for title {v}"
    versions = {spec.name: spec.version for spec in job.outputs}
    writes: dict[str, WriteResult] = {}
    for table in dict.fromkeys(spec.table for spec in job.outputs):
        files = {FeatureSlice(r.video_id, r.feature, versions[r.feature]): [r.path]
                 for r in results if r.table == table and r.path and r.video_id not in failed}
        writes[table] = store.commit_files(table, files, run_id)
    rows = {(r.video_id, r.feature): int(r.rows) for r in results if r.feature and r.video_id not in failed}
    return BatchResult(writes, rows, dict(sorted(failed.items())), dict(plan.snapshot_ids))


def compute_titles(settings: Settings, store: FeatureStore, job: TitleJob, video_ids: Sequence[str],
                   run_id: str) -> list[StageOutcome]:
    """Memoized batch: ``job`` for the titles of ``video_ids`` missing any of its outputs' current versions,
    on the settings' Spark session (started only when a title is left to compute).

    Returns one outcome per (title, output feature).

    Raises:
        TitleFailures: after committing the titles that succeeded, naming those that failed (with the
            outcomes of the others, so a caller can still report them).
    """
    outcomes, todo = split_memoized(store, job.outputs, video_ids)
    if not todo:
        return outcomes
    result = run_batch(get_spark(settings.spark_master, settings.spark_conf), store, job, todo, run_id)
    outcomes += [StageOutcome(v, spec.name, spec.version, False, result.rows.get((v, spec.name), 0),
                              result.writes[spec.table].snapshot_id)
                 for v in todo if v not in result.failed for spec in job.outputs]
    if result.failed:
        raise TitleFailures(job.name, result.failed, outcomes)
    return outcomes

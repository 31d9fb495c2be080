"""Table maintenance: compact small files in every feature table, nightly and on demand.

Each write adds one Parquet file per title, so the tables fill with small files that every reader
(DuckDB, Trino, Spark, pyiceberg) pays for. The ``compact_tables`` job merges them partition by
partition (:meth:`reelhouse.lakehouse.FeatureStore.compact`); rows, indexes and match cuts are unchanged.
"""

import dagster as dg

from dagster_project.instance import SPARK_POOL
from dagster_project.resources import ReelhouseResource


@dg.op(description="Merge each partition's small data files into one, in every feature table.", pool=SPARK_POOL)
def compact_feature_tables(context: dg.OpExecutionContext, reelhouse: ReelhouseResource) -> dg.Output[int]:
    results = reelhouse.store().compact_all()
    removed = sum(r.files_removed for r in results)
    for r in results:
        if r.files_removed:
            context.log.info(str(r))
    return dg.Output(removed, metadata={
        "files_removed": removed,
        "files_added": sum(r.files_added for r in results),
        "tables": dg.MetadataValue.json({r.table: {"partitions": r.partitions, "files_removed": r.files_removed,
                                                   "files_added": r.files_added} for r in results}),
    })


@dg.job(description="Compact the feature tables' small files (rows are unchanged).")
def compact_tables() -> None:
    compact_feature_tables()


nightly_compaction = dg.ScheduleDefinition(
    name="nightly_compaction", job=compact_tables, cron_schedule="0 3 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly at 03:00 UTC, after the fill: compact the feature tables.",
)

"""Building the Spark session reelhouse jobs run in: ``local[*]`` by default, any master by configuration."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

#: Settings every reelhouse job needs; user ``spark_conf`` overrides them.
BASE_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Small Arrow batches keep decoded frames in a pandas UDF bounded in memory.
    "spark.sql.execution.arrow.maxRecordsPerBatch": "64",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.session.timeZone": "UTC",
    # Workers are forks of spark_jobs.worker_daemon, which has imported torch and the media stack,
    # so a fresh worker per task costs milliseconds, and it frees its model's memory when the task ends.
    "spark.python.daemon.module": "spark_jobs.worker_daemon",
    "spark.python.worker.reuse": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "1g",
    # One task per core, one math thread each, on one machine as on a cluster: a batch runs one task
    # per title, so titles side by side use the cores. (One task with every core's threads, the policy
    # while jobs ran one title each, left a core idle wherever a model's threads do not fill it:
    # decoding, encoding, small batches of frames.) Each running task's worker holds only its job's model.
    "spark.executorEnv.OMP_NUM_THREADS": "1",
    "spark.executorEnv.MKL_NUM_THREADS": "1",
}


def get_spark(master: str = "local[*]", conf: Mapping[str, str] | None = None, app_name: str = "reelhouse") -> SparkSession:
    """Return the process's Spark session, creating it with reelhouse's settings on first use.

    The Python workers run this interpreter (``PYSPARK_PYTHON``), so they see the same packages and models.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**BASE_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def driver_frame(spark: SparkSession, rows: Sequence[Sequence[Any]], schema: StructType | str) -> DataFrame:
    """A DataFrame of rows held by the driver, shipped to Spark as Arrow.

    ``spark.createDataFrame`` on a list of tuples goes through pickled Python rows, which starts a
    second family of Python workers; from a pandas frame with Arrow enabled it starts none.
    """
    struct = schema if isinstance(schema, StructType) else StructType.fromDDL(schema)
    columns = struct.fieldNames()
    return spark.createDataFrame(pd.DataFrame(list(rows), columns=columns), struct)

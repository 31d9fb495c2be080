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
}


def local_cores(master: str) -> int | None:
    """The cores of a ``local``, ``local[N]`` or ``local[*]`` master; ``None`` for a cluster master."""
    if master == "local":
        return 1
    if master.startswith("local[") and master.endswith("]"):
        spec = master[len("local[") : -1].split(",")[0]
        return (os.cpu_count() or 1) if spec == "*" else int(spec)
    return None


def machine_conf(master: str) -> dict[str, str]:
    """Settings for how Python workers share the machine.

    On one machine (a ``local`` master) one task runs at a time and its Python worker gets every
    core for its model's math threads: each model (EfficientNet, TransNetV2, aisfx, silero-vad,
    MiniLM) then lives in one worker process instead of one per core, which keeps memory flat,
    and the models' own threads use the cores. On a cluster each task gets one math thread, since
    Spark already runs one task per core there.
    """
    cores = local_cores(master)
    threads = str(cores or 1)
    conf = {"spark.executorEnv.OMP_NUM_THREADS": threads, "spark.executorEnv.MKL_NUM_THREADS": threads}
    if cores is not None:
        conf["spark.task.cpus"] = str(cores)
    return conf


def get_spark(master: str = "local[*]", conf: Mapping[str, str] | None = None, app_name: str = "reelhouse") -> SparkSession:
    """Return the process's Spark session, creating it with reelhouse's settings on first use.

    The Python workers run this interpreter (``PYSPARK_PYTHON``), so they see the same packages and models.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**BASE_CONF, **machine_conf(master), **(conf or {})}.items():
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

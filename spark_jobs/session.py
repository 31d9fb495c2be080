"""Building the Spark session reelhouse jobs run in: ``local[*]`` by default, any master by configuration."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

#: Settings every reelhouse job needs; user ``spark_conf`` overrides them.
BASE_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Small Arrow batches keep decoded frames in a pandas UDF bounded in memory.
    "spark.sql.execution.arrow.maxRecordsPerBatch": "64",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.session.timeZone": "UTC",
    "spark.python.worker.reuse": "true",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "1g",
    # One math thread per Python worker: Spark already runs one task per core, and the models here
    # (EfficientNet, aisfx, silero-vad, MiniLM) run several times slower when threads oversubscribe.
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

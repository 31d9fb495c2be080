"""``reelhouse spark-conf``: the Spark configuration that reads reelhouse's tables from any Spark session."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from reelhouse.cli._common import _fail
from reelhouse.config import Settings


def format_spark_conf(conf: dict[str, str], fmt: str) -> str:
    """``conf`` as ``spark-submit``/``pyspark`` arguments, a Spark properties file, or JSON.

    ``args`` gives ``--jars A,B`` then one ``--conf key=value`` a line, shell-quoted where a value
    needs it; ``properties`` gives ``key value`` lines for ``--properties-file``; ``json`` an object.
    """
    if fmt == "json":
        return json.dumps(conf, indent=2)
    if fmt == "properties":
        # java.util.Properties reads a backslash as an escape.
        return "\n".join(f"{key} {value.replace(chr(92), chr(92) * 2)}" for key, value in conf.items())
    lines = [f"--jars {shlex.quote(conf['spark.jars'])}"] if conf.get("spark.jars") else []
    lines += [f"--conf {shlex.quote(f'{key}={value}')}" for key, value in conf.items() if key != "spark.jars"]
    return "\n".join(lines)


def cmd_spark_conf(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.lakehouse.spark_catalog import JarDownloadError, spark_catalog_conf

    try:
        conf = spark_catalog_conf(settings, spark_version=args.spark_version,
                                  cache_dir=Path(args.jar_cache) if args.jar_cache else None)
    except (JarDownloadError, ValueError) as exc:
        return _fail("spark-conf", str(exc))
    print(format_spark_conf(conf, args.format))
    return 0

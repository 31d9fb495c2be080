"""Spark sessions that are not reelhouse's own read its tables (``reelhouse.features.shots``).

Iceberg's ``SparkCatalog`` reads the SQL (JDBC) catalog pyiceberg writes, configured only from
``spark_catalog_conf`` or ``reelhouse spark-conf``. Each Spark runs in a fresh JVM in a subprocess (this
process may hold a Spark session without the jars). The reading Spark is pyspark 4.1.4, installed once
into ``~/.cache/reelhouse/pyspark-4.1.4``: Iceberg publishes no Spark runtime for the venv's pyspark 4.3
(``reelhouse.lakehouse.spark_catalog.ICEBERG_SPARK_RUNTIMES``). The jars are cached beside it in
``~/.cache/reelhouse/jars``, so both are downloaded once per machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest

from reelhouse.cli.spark import format_spark_conf
from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id, table_def
from reelhouse.lakehouse.spark_catalog import (
    ICEBERG_SPARK_RUNTIMES,
    JarDownloadError,
    MavenJar,
    default_jar_cache,
    download_jar,
    iceberg_jars,
    required_jars,
    spark_catalog_conf,
    spark_catalog_properties,
)
from tests.postgres_fixtures import create_database, postgres_url  # noqa: F401  (fixture)
from tests.test_lakehouse import shot_rows
from tests.test_object_store import BUCKET, s3_endpoint  # noqa: F401  (fixture)
from tests.test_object_store import _properties as s3_properties

#: The Spark that reads the tables: the newest release of the newest Spark Iceberg has a runtime for.
READER_PYSPARK = "4.1.4"
#: Seconds one Spark subprocess (JVM start, catalog, scan) may take before the test fails.
SPARK_TIMEOUT_S = 300

#: Reads tables in a fresh Spark and writes their rows as JSON (``written_at`` in microseconds since
#: the epoch, so no time zone is involved). argv: output path, conf JSON path or ``-`` (conf given by
#: spark-submit), then the tables.
READER_SCRIPT = """\
import json, sys
import pyspark
from pyspark.sql import SparkSession, functions as F

out, conf_path, tables = sys.argv[1], sys.argv[2], sys.argv[3:]
builder = SparkSession.builder
if conf_path != "-":
    builder = builder.master("local[1]").config(map=json.load(open(conf_path)))
spark = builder.getOrCreate()
result = {"pyspark": pyspark.__version__, "spark": spark.version, "tables": {}}
for table in tables:
    df = spark.table(table)
    df = df.withColumn("written_at", F.unix_micros("written_at"))
    result["tables"][table] = [row.asDict() for row in df.collect()]
json.dump(result, open(out, "w"))
spark.stop()
"""


def _sorted_rows(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["video_id"], r["feature_version"], r["shot_index"]))


def _pyiceberg_rows(store: FeatureStore) -> list[dict]:
    """The shots rows as pyiceberg reads them, ``written_at`` as microseconds since the epoch."""
    table = store.read("shots")
    i = table.schema.get_field_index("written_at")
    table = table.set_column(i, "written_at", table.column("written_at").cast(pa.int64()))
    return _sorted_rows(table.to_pylist())


def _write_shots(store: FeatureStore, versions: dict[str, int]) -> None:
    """Shots for two titles at each feature version in ``versions`` (version -> shots per title)."""
    store.ensure_tables(["shots"])
    for offset, (version, n) in enumerate(versions.items()):
        for vid, extra in (("a" * 32, 0), ("b" * 32, 1)):
            store.replace_slice("shots", FeatureSlice(vid, "shots", version), shot_rows(n + extra, offset=offset), new_run_id())


@pytest.fixture(scope="module")
def reader_site() -> Path:
    """A folder holding pyspark ``READER_PYSPARK`` (and its py4j), installed once per machine."""
    target = default_jar_cache().parent / f"pyspark-{READER_PYSPARK}"
    if (target / "pyspark" / "bin" / "spark-submit").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-input", "--target", str(tmp),
                               f"pyspark=={READER_PYSPARK}"], capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"cannot install pyspark {READER_PYSPARK} (the Spark that reads the tables): "
                        f"{done.stderr.strip()[-500:]}")
        try:
            tmp.rename(target)
        except OSError:  # another run installed it meanwhile
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _jars(settings: Settings) -> list[Path]:
    try:
        return iceberg_jars(settings)
    except JarDownloadError as exc:
        pytest.fail(f"the Iceberg and JDBC jars cannot be downloaded from Maven Central: {exc}")


def _spark_env(site: Path) -> dict[str, str]:
    """This environment without any Spark of its own (a parent's gateway, SPARK_HOME), reading pyspark from ``site``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
    env.update(
        PYTHONPATH=str(site),
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_HOME=str(site / "pyspark"),
        SPARK_LOCAL_IP="127.0.0.1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{site / 'pyspark' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: Path, out: Path) -> dict:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=SPARK_TIMEOUT_S)
    assert done.returncode == 0 and out.is_file(), f"{cmd[:3]} failed ({done.returncode}):\n{done.stderr[-4000:]}"
    result = json.loads(out.read_text())
    assert result["pyspark"] == READER_PYSPARK and result["spark"] == READER_PYSPARK
    return result


def _read_in_spark(site: Path, conf: dict[str, str], tables: list[str], tmp: Path) -> dict[str, list[dict]]:
    """Rows of ``tables`` read by a fresh local Spark configured with ``conf`` and nothing else."""
    script, conf_path, out = tmp / "read_tables.py", tmp / "conf.json", tmp / "rows.json"
    script.write_text(READER_SCRIPT)
    conf_path.write_text(json.dumps(conf))
    result = _run([sys.executable, str(script), str(out), str(conf_path), *tables], _spark_env(site), tmp, out)
    return {t: _sorted_rows(rows) for t, rows in result["tables"].items()}


# Without Spark ---------------------------------------------------------------------------------------

def test_pyiceberg_writes_the_jdbc_catalogs_tables_under_its_catalog_name(store: FeatureStore, settings: Settings) -> None:
    _write_shots(store, {"1-x": 2})
    db = sqlite3.connect(settings.resolved_catalog_uri.removeprefix("sqlite:///"))
    try:
        columns = {t: [c[1] for c in db.execute(f"PRAGMA table_info({t})")] for t in ("iceberg_tables", "iceberg_namespace_properties")}
        names = {t: {r[0] for r in db.execute(f"SELECT DISTINCT catalog_name FROM {t}")} for t in columns}
        types = {r[0] for r in db.execute("SELECT DISTINCT iceberg_type FROM iceberg_tables")}
    finally:
        db.close()
    # Iceberg's JdbcCatalog schema V1 (the iceberg_type column, 'TABLE' on tables), keyed by the catalog's name.
    assert columns["iceberg_tables"] == ["catalog_name", "table_namespace", "table_name", "metadata_location",
                                         "previous_metadata_location", "iceberg_type"]
    assert columns["iceberg_namespace_properties"] == ["catalog_name", "namespace", "property_key", "property_value"]
    assert names == {"iceberg_tables": {"reelhouse"}, "iceberg_namespace_properties": {"reelhouse"}} and types == {"TABLE"}
    conf = spark_catalog_properties(settings)
    assert conf["spark.sql.catalog.reelhouse"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.reelhouse.uri"] == f"jdbc:sqlite:{settings.home / 'catalog.db'}"
    assert conf["spark.sql.catalog.reelhouse.warehouse"] == settings.resolved_warehouse_uri
    assert not any("schema-version" in k for k in conf)  # V1 would ALTER pyiceberg's table; the layout is detected


def test_conf_for_postgresql_rest_and_s3_settings(tmp_path: Path) -> None:
    pg = Settings(home=tmp_path, catalog_name="lake", catalog_uri="postgresql://rh:p%40ss@db.example:5433/cat?sslmode=require",
                  warehouse_uri="s3://bucket/wh",
                  catalog_properties={"s3.endpoint": "http://127.0.0.1:9000", "s3.region": "eu-west-1", "s3.access-key-id": "k"})
    conf = spark_catalog_properties(pg)
    prefix = "spark.sql.catalog.lake"  # the Spark catalog is named like the pyiceberg catalog: its rows' catalog_name
    assert not any(k.startswith("spark.sql.catalog.reelhouse") for k in conf)
    assert {k.removeprefix(prefix + "."): v for k, v in conf.items() if k.startswith(prefix + ".")} == {
        "type": "jdbc", "uri": "jdbc:postgresql://db.example:5433/cat", "jdbc.user": "rh", "jdbc.password": "p@ss",
        "jdbc.sslmode": "require", "warehouse": "s3://bucket/wh",
        "io-impl": "org.apache.iceberg.aws.s3.S3FileIO", "s3.endpoint": "http://127.0.0.1:9000", "client.region": "eu-west-1",
        "s3.access-key-id": "k", "s3.path-style-access": "true",
    }
    assert [j.artifact for j in required_jars(pg)] == ["iceberg-spark-runtime-4.1_2.13", "postgresql", "iceberg-aws-bundle"]
    assert {j.version for j in required_jars(pg) if j.group == "org.apache.iceberg"} == {ICEBERG_SPARK_RUNTIMES["4.1"].version}
    assert required_jars(pg, "4.0.5")[0] == ICEBERG_SPARK_RUNTIMES["4.0"]

    rest = Settings(home=tmp_path, catalog_uri="https://catalog.example/api")
    assert spark_catalog_properties(rest)["spark.sql.catalog.reelhouse.type"] == "rest"
    assert [j.artifact for j in required_jars(rest)] == ["iceberg-spark-runtime-4.1_2.13"]
    with pytest.raises(ValueError, match="no Iceberg Spark runtime for Spark 4.3"):
        required_jars(rest, "4.3.0")
    with pytest.raises(ValueError, match="SQLite or PostgreSQL"):
        spark_catalog_properties(Settings(home=tmp_path, catalog_uri="mysql://h/db"))


def test_jars_are_downloaded_once_and_checked(tmp_path: Path) -> None:
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    jar = MavenJar("org.example", "thing", "1.0")
    (repo / Path(jar.path).parent).mkdir(parents=True)
    (repo / jar.path).write_bytes(b"jar bytes")
    (repo / f"{jar.path}.sha1").write_text(hashlib.sha1(b"tampered").hexdigest())
    with pytest.raises(JarDownloadError, match="does not match"):
        download_jar(jar, cache, repository=repo.as_uri())
    assert list(cache.iterdir()) == []  # nothing half-written is left to pass for a jar
    (repo / f"{jar.path}.sha1").write_text(hashlib.sha1(b"jar bytes").hexdigest() + "  thing-1.0.jar\n")
    path = download_jar(jar, cache, repository=repo.as_uri())
    assert path == cache / "thing-1.0.jar" and path.read_bytes() == b"jar bytes"
    shutil.rmtree(repo)
    assert download_jar(jar, cache, repository=repo.as_uri()) == path  # cached: the repository is not asked
    with pytest.raises(JarDownloadError, match="by hand"):
        download_jar(MavenJar("org.example", "other", "1.0"), cache, repository=repo.as_uri())


def test_spark_conf_arguments_round_trip_through_a_shell() -> None:
    conf = {"spark.jars": "/a b/x.jar,/c/y.jar", "spark.sql.catalog.reelhouse.jdbc.password": "it's $secret"}
    words = shlex.split(format_spark_conf(conf, "args"))
    assert words == ["--jars", "/a b/x.jar,/c/y.jar", "--conf", "spark.sql.catalog.reelhouse.jdbc.password=it's $secret"]
    assert json.loads(format_spark_conf(conf, "json")) == conf


# Spark -------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_fresh_spark_session_reads_exactly_what_pyiceberg_reads(store: FeatureStore, settings: Settings, reader_site: Path,
                                                                  tmp_path: Path) -> None:
    _write_shots(store, {"1-x": 3, "2-y": 2})
    expected = _pyiceberg_rows(store)
    assert len(expected) == (3 + 4) + (2 + 3)  # titles a and b at 1-x, then at 2-y
    rows = _read_in_spark(reader_site, spark_catalog_conf(settings, _jars(settings)), ["reelhouse.features.shots"], tmp_path)
    got = rows["reelhouse.features.shots"]
    assert got == expected
    assert list(got[0]) == table_def("shots").columns
    assert got[0]["video_id"] == "a" * 32 and got[0]["start_s"] == 0.0 and got[-1]["detector"] == "test@1"


@pytest.mark.slow
def test_spark_submit_reads_the_table_with_reelhouse_spark_conf(store: FeatureStore, settings: Settings, reader_site: Path,
                                                                tmp_path: Path) -> None:
    _write_shots(store, {"1-x": 2})
    _jars(settings)  # fails when the jars cannot be downloaded
    (tmp_path / "read_tables.py").write_text(READER_SCRIPT)
    out = tmp_path / "rows.json"
    # The README's command, as a user types it (REELHOUSE_HOME, set by the fixture, names the store).
    command = f"spark-submit --master 'local[1]' $(reelhouse spark-conf) read_tables.py {out} - reelhouse.features.shots"
    result = _run(["bash", "-c", command], _spark_env(reader_site), tmp_path, out)
    assert _sorted_rows(result["tables"]["reelhouse.features.shots"]) == _pyiceberg_rows(store)


@pytest.mark.slow
def test_spark_reads_postgresql_catalogs_by_name_with_an_s3_warehouse(postgres_url: str, s3_endpoint: str,  # noqa: F811
                                                                      tmp_path: Path, reader_site: Path) -> None:
    """Two pyiceberg catalogs share one PostgreSQL database, one with its warehouse in S3-compatible object
    storage (moto on loopback); in one Spark session, each Spark catalog sees exactly its own rows."""
    uri = create_database(postgres_url, "spark_reads")
    ours = Settings(home=tmp_path / "ours", catalog_uri=uri)
    lake = Settings(home=tmp_path / "lake", catalog_uri=uri, catalog_name="lake", warehouse_uri=f"s3://{BUCKET}/spark_reads",
                    catalog_properties=s3_properties(s3_endpoint))
    stores = {s.catalog_name: FeatureStore.from_settings(s) for s in (ours, lake)}
    _write_shots(stores["reelhouse"], {"1-x": 3})
    _write_shots(stores["lake"], {"1-x": 1, "2-y": 1})
    jars = _jars(lake)  # the runtime, PostgreSQL's driver and Iceberg's AWS bundle
    conf = spark_catalog_conf(ours, jars) | spark_catalog_conf(lake, jars)
    rows = _read_in_spark(reader_site, conf, ["reelhouse.features.shots", "lake.features.shots"], tmp_path)
    assert rows["reelhouse.features.shots"] == _pyiceberg_rows(stores["reelhouse"]) and len(rows["reelhouse.features.shots"]) == 7
    assert rows["lake.features.shots"] == _pyiceberg_rows(stores["lake"]) and len(rows["lake.features.shots"]) == 6

"""A real Trino server reads reelhouse's tables from S3-compatible object storage, configured by settings alone.

The catalog is the JDBC catalog in PostgreSQL (``infra/scripts/postgres.sh``), the warehouse a bucket of
the S3 server on loopback (``infra/scripts/object_store.sh``). reelhouse writes the synthetic catalog
there; ``infra/scripts/trino.sh`` renders Trino's catalog file from the same settings (native S3 file
system, the same endpoint and keys, path-style addressing). Every ``sql/`` file gives the same answers
on Trino as on the embedded engine (DuckDB's httpfs) over the bucket, and reelhouse's ``sql_engine``
Dagster resource, configured from the environment, reaches the server.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelhouse.query import required_params
from reelhouse.query.duckdb_engine import DuckDBEngine
from reelhouse.query.trino_engine import TrinoEngine
from tests.postgres_fixtures import create_database
from tests.test_object_store import BUCKET, s3_endpoint  # noqa: F401  (fixture)
from tests.test_object_store import _properties as s3_properties
from tests.trino_fixtures import (  # noqa: F401  (fixture)
    TRINO_CATALOG,
    TrinoLake,
    assert_same_answers,
    order_keys,
    params_for,
    postgres_url,
    running_trino,
    special_checks,
    trino_settings,
)

pytestmark = pytest.mark.slow

SQL_FILES = sorted((Path(__file__).resolve().parents[1] / "sql").glob("*.sql"))


@pytest.fixture(scope="module")
def s3_lake(postgres_url: str, s3_endpoint: str) -> Iterator[TrinoLake]:  # noqa: F811
    from reelhouse.lakehouse import FeatureStore
    from reelhouse.samples.synthetic_catalog import SyntheticCatalogSpec, write_synthetic_catalog

    folder = Path(tempfile.mkdtemp(prefix="reelhouse-trino-s3-", dir="/tmp"))
    try:
        settings = trino_settings(folder / "home", create_database(postgres_url, "trino_s3"),
                                  warehouse_uri=f"s3://{BUCKET}/trino", catalog_properties=s3_properties(s3_endpoint))
        spec = SyntheticCatalogSpec(titles=8, shots_per_title=24, dim=8, cues_per_title=8, match_cuts_per_shot=2,
                                    stale_share=0.25, quarantined_share=0.1, seed=5)
        write_synthetic_catalog(FeatureStore.from_settings(settings), spec, titles_per_commit=4)
        with running_trino(settings, folder) as lake:
            yield lake
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_trino_catalog_file_reads_the_bucket(s3_lake: TrinoLake, s3_endpoint: str):  # noqa: F811
    props = dict(line.split("=", 1) for line in (s3_lake.settings.home.parent / "trino" / "etc" / "catalog" /
                                                  f"{TRINO_CATALOG}.properties").read_text().splitlines())
    assert props["fs.native-s3.enabled"] == "true"
    assert props["s3.endpoint"] == s3_endpoint
    assert props["s3.path-style-access"] == "true"
    assert props["iceberg.jdbc-catalog.default-warehouse-dir"] == f"s3://{BUCKET}/trino"
    # The table's files really are in the bucket, as Trino reports them.
    with s3_lake.connect() as con:
        cur = con.cursor()
        cur.execute('SELECT DISTINCT "$path" FROM shots')
        paths = [r[0] for r in cur.fetchall()]
    assert paths and all(p.startswith(f"s3://{BUCKET}/trino/") for p in paths)


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.stem)
def test_sql_file_same_answers_on_trino_over_object_storage(path: Path, s3_lake: TrinoLake):
    s = s3_lake.settings
    text = path.read_text()
    params = {name: None for name in required_params(text)} | params_for(s3_lake.store).get(path.stem, {})
    with DuckDBEngine(s3_lake.store.catalog, trino_catalog=TRINO_CATALOG, default_namespace=s.namespace) as duck, \
            TrinoEngine(host=s3_lake.host, port=s3_lake.port, catalog=TRINO_CATALOG, schema=s.namespace) as trino:
        t0 = time.monotonic()
        embedded = duck.execute(text, params)
        served = trino.execute(text, params)
    assert embedded.num_rows > 0, "the store must give the query rows to compare"
    assert_same_answers(embedded, served, order_keys(text), special_checks(path.stem, time.monotonic() - t0))


def test_dagster_sql_engine_resource_reaches_the_server(s3_lake: TrinoLake, monkeypatch: pytest.MonkeyPatch):
    """The code location's resources, configured by the environment alone, open a working Trino engine."""
    from dagster_project.resources import default_resources
    from reelhouse.config import get_settings
    from reelhouse.query import open_engine

    for key, value in s3_lake.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("REELHOUSE_CONFIG", raising=False)
    get_settings.cache_clear()
    try:
        settings = default_resources()["reelhouse"].settings()
        assert settings.sql_engine == "trino" and settings.trino.port == s3_lake.port
        with open_engine(settings) as engine:
            assert isinstance(engine, TrinoEngine)
            n = engine.execute("SELECT count(*) AS n FROM shots").column("n")[0].as_py()
    finally:
        get_settings.cache_clear()
    assert n == s3_lake.store.read("shots", selected_fields=("video_id",)).num_rows

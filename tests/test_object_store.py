"""The same code with its warehouse in S3-compatible object storage, configured by settings alone.

A real S3 server (moto's server mode, ``infra/scripts/object_store.sh``) runs on loopback. The
feature store's behaviour suite (``tests/test_lakehouse.py``) runs again with every table's data and
metadata in a bucket, and the main job runs end to end as a user would run it (``reelhouse run``, a
separate process): encodes, every feature table, the embedded SQL engine (DuckDB's httpfs) and the
re-run that memoizes, with nothing written to a local warehouse.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelhouse.config import Settings, get_settings
from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id
from tests.test_lakehouse import *  # noqa: F403  (the feature-store suite, again on object storage)
from tests.test_lakehouse import shot_rows

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "scripts" / "object_store.sh"
BUCKET = "reelhouse-warehouse"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a running S3-compatible server holding the bucket ``BUCKET``."""
    folder = Path(tempfile.mkdtemp(prefix="reelhouse-s3-"))
    started = subprocess.run(["bash", str(SCRIPT), "start", str(folder), str(_free_port()), BUCKET],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, "REELHOUSE_PYTHON": sys.executable})
    try:
        if started.returncode != 0:
            raise RuntimeError(f"the object store did not start: {started.stderr[-2000:]}")
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def _properties(endpoint: str) -> dict[str, str]:
    return {"s3.endpoint": endpoint, "s3.access-key-id": "reelhouse", "s3.secret-access-key": "reelhouse",
            "s3.region": "us-east-1"}


def _keys(endpoint: str, prefix: str) -> list[str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="reelhouse", aws_secret_access_key="reelhouse",
                      region_name="us-east-1")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


@pytest.fixture(autouse=True)
def _warehouse_in_object_storage(s3_endpoint: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Every test here (the imported suite too) gets a warehouse prefix of its own in the bucket.

    Set through the environment, so settings built anywhere (fixtures, the CLI, subprocesses) agree.
    """
    prefix = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    monkeypatch.setenv("REELHOUSE_WAREHOUSE_URI", f"s3://{BUCKET}/{prefix}")
    monkeypatch.setenv("REELHOUSE_CATALOG_PROPERTIES", json.dumps(_properties(s3_endpoint)))
    get_settings.cache_clear()
    yield prefix
    get_settings.cache_clear()


def test_the_tables_really_are_in_object_storage(store: FeatureStore, settings: Settings, s3_endpoint: str,
                                                 _warehouse_in_object_storage: str):
    assert settings.resolved_warehouse_uri.startswith(f"s3://{BUCKET}/")
    store.replace_slice("shots", FeatureSlice("c" * 32, "shots", "1-s3"), shot_rows(4), new_run_id())
    keys = _keys(s3_endpoint, _warehouse_in_object_storage + "/")
    assert any(k.endswith(".parquet") and "/shots/data/" in k for k in keys)
    assert any(k.endswith(".metadata.json") and "/shots/metadata/" in k for k in keys)
    assert not (settings.home / "warehouse").exists()
    assert FeatureStore.from_settings(Settings(home=settings.home)).read("shots").num_rows == 4


def test_the_main_job_runs_end_to_end_with_its_warehouse_in_object_storage(s3_endpoint: str, tmp_path: Path,
                                                                          _warehouse_in_object_storage: str):
    from reelhouse.query import open_engine
    from reelhouse.samples import build_sample_library, real_clips

    home = tmp_path / "home"
    build_sample_library(home / "landing", seconds_per_title=6.0, n_titles=1, seed=4)
    shutil.copyfile(real_clips()["bikes"], home / "landing" / "bikes.mp4")
    env = {**os.environ, "REELHOUSE_HOME": str(home), "REELHOUSE_SPARK_MASTER": "local[2]",
           "REELHOUSE_CONTEXTUAL__OVERRIDES": json.dumps({"steps": 10})}
    cli = str(Path(sys.executable).with_name("reelhouse"))
    run = subprocess.run([cli, "run", "--no-samples"], env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    settings = Settings(home=home)
    store = FeatureStore.from_settings(settings)
    assert store.read("media", "status == 'ok'", selected_fields=("video_id",)).num_rows == 2
    tables = ("encodes", "shots", "shot_frames", "shot_embeddings", "shot_audio", "match_cuts")
    counts = {t: store.read(t, selected_fields=("video_id",)).num_rows for t in tables}
    assert all(n > 0 for n in counts.values()), counts
    # Everything the warehouse holds is in the bucket: the encodes and every table's data and metadata.
    keys = _keys(s3_endpoint, _warehouse_in_object_storage + "/")
    encodes = [k for k in keys if "/media/encodes/" in k and k.endswith(".mp4")]
    assert len(encodes) == 2
    assert {k.split("/")[2] for k in keys if "/features/" in k} >= {"media", *tables}
    assert not (home / "warehouse").exists()
    encode_uris = store.read("encodes", selected_fields=("uri",)).column("uri").to_pylist()
    assert all(u.startswith(f"s3://{BUCKET}/") for u in encode_uris)
    # The embedded SQL engine reads the same tables from the bucket.
    with open_engine(settings, store.catalog) as engine:
        shots = engine.execute("SELECT count(*) AS n FROM shots").column("n")[0].as_py()
    assert shots == counts["shots"]
    sql = subprocess.run([cli, "sql", "shots_per_title", "--format", "json"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert sql.returncode == 0, sql.stderr[-2000:]
    assert sum(r["shot_count"] for r in json.loads(sql.stdout)) == counts["shots"]
    # A re-run memoizes: no table gains a snapshot.
    snapshots = {t: store.snapshot_id(t) for t in tables}
    again = subprocess.run([cli, "run", "--no-samples"], env=env, capture_output=True, text=True, timeout=1200)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert {t: store.snapshot_id(t) for t in tables} == snapshots

"""The same code with its Iceberg catalog (and Dagster's storage) on PostgreSQL, configured by settings alone.

A real PostgreSQL server runs on loopback (``tests.postgres_fixtures``). The feature store's whole
behaviour suite (``tests/test_lakehouse.py``) and the compaction suite (``tests/test_compaction.py``)
run again here, each test in a catalog of its own (``catalog_name``) on that server, and one small
library is materialized end to end through Dagster with both the catalog and the run storage there.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from reelhouse.config import Settings, get_settings
from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id
from tests.postgres_fixtures import create_database, postgres_url, query  # noqa: F401  (fixture)
from tests.test_compaction import *  # noqa: F403  (the compaction suite, again on PostgreSQL)
from tests.test_lakehouse import *  # noqa: F403  (the feature-store suite, again on PostgreSQL)
from tests.test_lakehouse import shot_rows

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _catalog_on_postgres(postgres_url: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    """Every test here (the imported suites too) gets a catalog of its own on the PostgreSQL server.

    Set through the environment, so settings built anywhere (fixtures, the CLI, subprocesses) agree.
    """
    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    monkeypatch.setenv("REELHOUSE_CATALOG_URI", postgres_url)
    monkeypatch.setenv("REELHOUSE_CATALOG_NAME", name)
    get_settings.cache_clear()
    yield name
    get_settings.cache_clear()


def test_the_catalog_really_is_on_postgresql(store: FeatureStore, settings: Settings, postgres_url: str,  # noqa: F811
                                             _catalog_on_postgres: str):
    assert settings.resolved_catalog_uri == postgres_url and settings.catalog_name == _catalog_on_postgres
    store.replace_slice("shots", FeatureSlice("c" * 32, "shots", "1-pg"), shot_rows(4), new_run_id())
    tables = {r[0] for r in query(postgres_url, "SELECT table_name FROM iceberg_tables WHERE catalog_name = %s",
                                  (_catalog_on_postgres,))}
    assert {"shots", "media", "shot_embeddings", "match_cuts"} <= tables
    assert not (settings.home / "catalog.db").exists()  # nothing fell back to SQLite
    reopened = FeatureStore.from_settings(Settings(home=settings.home))
    assert reopened.read("shots").num_rows == 4


def test_a_library_materializes_end_to_end_with_catalog_and_dagster_on_postgresql(postgres_url: str, tmp_path: Path):  # noqa: F811
    from dagster_project.library_run import run_library
    from reelhouse.samples import build_sample_library, real_clips

    dagster_url = create_database(postgres_url, "dagster_e2e")
    home = tmp_path / "home"
    landing = home / "landing"
    build_sample_library(landing, seconds_per_title=6.0, n_titles=1, seed=3)
    shutil.copyfile(real_clips()["bikes"], landing / "bikes.mp4")
    settings = Settings(home=home, spark_master="local[2]", dagster_storage_url=dagster_url,
                        contextual={"overrides": {"steps": 10}})
    first = run_library(settings, progress=lambda m: None)
    assert len(first.ok) == 2 and not first.failed and not first.failed_checks
    store = FeatureStore.from_settings(settings)
    counts = {t: store.read(t, selected_fields=("video_id",)).num_rows
              for t in ("media", "encodes", "shots", "shot_frames", "shot_embeddings", "shot_audio", "match_cuts")}
    assert all(n > 0 for n in counts.values()), counts
    assert not (home / "catalog.db").exists()
    # Dagster kept its runs and asset events in PostgreSQL, not in SQLite files under the instance folder.
    runs = query(dagster_url, "SELECT count(*) FROM runs")[0][0]
    assert runs >= 3
    assert query(dagster_url, "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")[0][0] > 0
    assert not list((home / "dagster").glob("**/*.db"))
    snapshots = {t: store.snapshot_id(t) for t in counts}
    second = run_library(settings, progress=lambda m: None)
    assert sorted(second.memoized) == sorted(first.ok)
    assert {t: store.snapshot_id(t) for t in counts} == snapshots

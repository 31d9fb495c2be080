"""A real Trino server on loopback for the tests, started by the repo's own script, over a real store.

``infra/scripts/trino.sh`` fetches the pinned Trino release from Maven Central once (cached, checksum
checked), and starts a single node on a free port of 127.0.0.1 with Java 24+. Its Iceberg catalog is
rendered from the same ``Settings`` the store below is opened with: the JDBC catalog in the session's
PostgreSQL server (``tests.postgres_fixtures``), warehouse on local files. Every catalog is read-only
for every Trino user. The server is stopped and its folder deleted when the test module ends.

The store holds the synthetic catalog of ``tests.test_query_synthetic`` (every table the pipeline
writes, with stale versions, near-duplicates, subtitles and match cuts), written by the real
``FeatureStore``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore
from tests.postgres_fixtures import _free_port, create_database, postgres_url  # noqa: F401  (fixture)

SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "scripts" / "trino.sh"
#: Trino's catalog name (the file ``etc/catalog/iceberg.properties``), reelhouse's ``trino.catalog``.
TRINO_CATALOG = "iceberg"
#: The scratch namespace that tests which change tables (compaction, schema change, concurrent
#: commits) write to, so the analyst tables stay as written.
SCRATCH_NAMESPACE = "scratch"
#: First start: the download (about 540 MB) and the unpacking; later starts take 20-60 s.
START_TIMEOUT_S = 1500


@dataclass(frozen=True)
class TrinoLake:
    """A store and the Trino server that reads it."""

    settings: Settings  # sql_engine = "trino", pointing at the server
    store: FeatureStore
    host: str
    port: int

    def env(self) -> dict[str, str]:
        """``REELHOUSE_*`` variables that give ``self.settings`` to a CLI run or a subprocess."""
        s = self.settings
        return {"REELHOUSE_HOME": str(s.home), "REELHOUSE_CATALOG_URI": s.resolved_catalog_uri,
                "REELHOUSE_WAREHOUSE_URI": s.resolved_warehouse_uri, "REELHOUSE_SQL_ENGINE": "trino",
                "REELHOUSE_TRINO__HOST": self.host, "REELHOUSE_TRINO__PORT": str(self.port),
                "REELHOUSE_TRINO__CATALOG": TRINO_CATALOG}

    def connect(self, user: str = "reelhouse"):
        """A direct Trino DB-API connection (not through reelhouse's read-only gate)."""
        import trino

        return trino.dbapi.connect(host=self.host, port=self.port, user=user, catalog=TRINO_CATALOG,
                                   schema=self.settings.namespace)


@pytest.fixture(scope="module")
def trino_lake(postgres_url: str) -> Iterator[TrinoLake]:  # noqa: F811
    from reelhouse.samples.synthetic_catalog import write_synthetic_catalog
    from tests.test_query_synthetic import SPEC

    folder = Path(tempfile.mkdtemp(prefix="reelhouse-trino-", dir="/tmp"))
    port = _free_port()
    settings = Settings(home=folder / "home", catalog_uri=create_database(postgres_url, "trino_lake"),
                        sql_engine="trino", trino={"host": "127.0.0.1", "port": port, "catalog": TRINO_CATALOG})
    store = FeatureStore.from_settings(settings)
    write_synthetic_catalog(store, SPEC, titles_per_commit=10)
    lake = TrinoLake(settings, store, "127.0.0.1", port)
    env = {**os.environ, **lake.env()}
    env.pop("REELHOUSE_CONFIG", None)
    started = subprocess.run(["bash", str(SCRIPT), "start", str(folder / "trino"), str(port)], capture_output=True,
                             text=True, timeout=START_TIMEOUT_S, env=env)
    if started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"could not start Trino (exit {started.returncode}): {started.stderr.strip()[-3000:]}")
    try:
        yield lake
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder / "trino")], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)

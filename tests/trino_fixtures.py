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

import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore
from reelhouse.query.readonly import DIALECT
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
        env = {"REELHOUSE_HOME": str(s.home), "REELHOUSE_CATALOG_URI": s.resolved_catalog_uri,
               "REELHOUSE_WAREHOUSE_URI": s.resolved_warehouse_uri, "REELHOUSE_SQL_ENGINE": "trino",
               "REELHOUSE_TRINO__HOST": self.host, "REELHOUSE_TRINO__PORT": str(self.port),
               "REELHOUSE_TRINO__CATALOG": TRINO_CATALOG}
        if s.catalog_properties:
            env["REELHOUSE_CATALOG_PROPERTIES"] = json.dumps(dict(s.catalog_properties))
        return env

    def connect(self, user: str = "reelhouse"):
        """A direct Trino DB-API connection (not through reelhouse's read-only gate)."""
        import trino

        return trino.dbapi.connect(host=self.host, port=self.port, user=user, catalog=TRINO_CATALOG,
                                   schema=self.settings.namespace)


@contextmanager
def running_trino(settings: Settings, folder: Path) -> Iterator[TrinoLake]:
    """A Trino server started by ``infra/scripts/trino.sh`` in ``folder/trino`` over ``settings``' catalog.

    ``settings`` must name the server (``trino.host`` 127.0.0.1, a free ``trino.port``, ``trino.catalog``
    ``TRINO_CATALOG``); its catalog file is rendered from the same settings, passed through the environment.
    """
    lake = TrinoLake(settings, FeatureStore.from_settings(settings), settings.trino.host, settings.trino.port)
    env = {**os.environ, **lake.env()}
    env.pop("REELHOUSE_CONFIG", None)
    started = subprocess.run(["bash", str(SCRIPT), "start", str(folder / "trino"), str(lake.port)], capture_output=True,
                             text=True, timeout=START_TIMEOUT_S, env=env)
    if started.returncode != 0:
        raise RuntimeError(f"could not start Trino (exit {started.returncode}): {started.stderr.strip()[-3000:]}")
    try:
        yield lake
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder / "trino")], capture_output=True, timeout=120)


def trino_settings(home: Path, catalog_uri: str, **updates: object) -> Settings:
    """Settings over the JDBC catalog ``catalog_uri`` whose SQL engine is a Trino server on a free port."""
    return Settings(home=home, catalog_uri=catalog_uri, sql_engine="trino",
                    trino={"host": "127.0.0.1", "port": _free_port(), "catalog": TRINO_CATALOG}, **updates)


@pytest.fixture(scope="module")
def trino_lake(postgres_url: str) -> Iterator[TrinoLake]:  # noqa: F811
    from reelhouse.samples.synthetic_catalog import write_synthetic_catalog
    from tests.test_query_synthetic import SPEC

    folder = Path(tempfile.mkdtemp(prefix="reelhouse-trino-", dir="/tmp"))
    try:
        settings = trino_settings(folder / "home", create_database(postgres_url, "trino_lake"))
        write_synthetic_catalog(FeatureStore.from_settings(settings), SPEC, titles_per_commit=10)
        with running_trino(settings, folder) as lake:
            yield lake
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Comparing answers -------------------------------------------------------------------------------
# Answers are compared row for row: the same columns, the same rows, in the same order where the query
# orders (rows that tie on every ORDER BY key may come in either order); strings, integers and booleans
# exactly, floats within ``REL_TOL`` / ``ABS_TOL`` (the engines sum in different orders). One column
# cannot be equal by design and is checked for what it promises instead: ``age_hours``
# (``current_timestamp`` at each engine's run: equal within the seconds between the runs).

REL_TOL = 1e-6
ABS_TOL = 1e-9


def order_keys(sql: str) -> list[str] | None:
    """Output column names of the top-level ORDER BY (None when the query does not order)."""
    tree = sqlglot.parse_one(sql, read=DIALECT)
    order = tree.args.get("order")
    if order is None:
        return None
    out = []
    for ordered in order.expressions:
        node = ordered.this
        if isinstance(node, exp.Column):
            out.append(node.name)
        elif isinstance(node, exp.Literal) and node.is_int:
            out.append(tree.selects[int(node.this) - 1].alias_or_name)
    return out


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _key(row: dict, skip: Sequence[str]) -> tuple:
    """A sort key that floats within tolerance share (rounded), for rows compared as multisets."""
    return tuple(repr(round(v, 5)) if isinstance(v, float) else repr(v) for k, v in row.items() if k not in skip)


def assert_same_answers(embedded: pa.Table, trino: pa.Table, ordered_by: list[str] | None,
                        special: dict[str, Callable[[dict, object, object], None]] | None = None) -> None:
    """Equal column names and rows (see the module docstring); ``special`` checks its columns itself."""
    special = special or {}
    assert trino.column_names == embedded.column_names
    assert trino.num_rows == embedded.num_rows
    a, b = embedded.to_pylist(), trino.to_pylist()
    if ordered_by is not None:  # the ORDER BY keys come in the same sequence
        keys = [k for k in ordered_by if k in embedded.column_names]
        for i, (x, y) in enumerate(zip(a, b)):
            assert all(_same(x[k], y[k]) for k in keys), f"row {i}: order keys differ: {x} vs {y}"
    a = sorted(a, key=lambda r: _key(r, list(special)))
    b = sorted(b, key=lambda r: _key(r, list(special)))
    for x, y in zip(a, b):
        for col in embedded.column_names:
            if col in special:
                special[col](x, x[col], y[col])
            else:
                assert _same(x[col], y[col]), f"{col}: embedded {x[col]!r}, trino {y[col]!r} in {x}"


def params_for(store: FeatureStore) -> dict[str, dict[str, object]]:
    """Parameters for the ``sql/`` files that take them, picked from ``store``'s synthetic catalog."""
    from reelhouse.samples.synthetic_catalog import VISUAL_FEATURE

    vid = store.read("shots", selected_fields=("video_id",)).column("video_id")[0].as_py()
    return {
        "shots_in_time_range": {"title": vid, "start_s": 10.0, "end_s": 40.0},
        "scenes_of_title": {"title": vid},
        "artwork_candidates": {"title": vid, "top_n": 4},
        "regions_search": {"label": "face", "min_area": 0.1, "x_min": 0.0, "x_max": 0.5, "y_min": 0.0, "y_max": 1.0,
                           "top_n": 200},
        "shots_by_tag": {"tag": "night", "min_score": 0.5, "top_n": 100},
        "subtitle_search": {"phrase": "RIVER"},
        "similar_shots": {"feature": VISUAL_FEATURE, "video_id": vid, "shot_index": 8},
        "top_match_cuts": {"top_n": 50},
        "feature_coverage": {},
    }


def special_checks(name: str, elapsed_s: float) -> dict[str, Callable[[dict, object, object], None]]:
    """The columns of ``sql/<name>.sql`` that are checked by what they promise (``elapsed_s`` between runs)."""
    def age_within_run_gap(row: dict, a: object, b: object) -> None:
        assert isinstance(a, float) and isinstance(b, float)
        assert abs(a - b) <= elapsed_s / 3600 + 1e-6, f"age_hours {a} vs {b} ({elapsed_s:.1f} s between runs)"

    return {"feature_coverage": {"age_hours": age_within_run_gap}}.get(name, {})

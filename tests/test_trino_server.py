"""A real Trino server (``infra/scripts/trino.sh``) answers reelhouse's SQL like the embedded engine.

Both engines read the same store (JDBC catalog in PostgreSQL, local warehouse; ``tests.trino_fixtures``).
Answers are compared row for row by ``tests.trino_fixtures.assert_same_answers`` (floats within a
relative 1e-6; order where the query orders).
"""

from __future__ import annotations

import re
import shlex
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from reelhouse.query import ReadOnlyViolation, required_params
from reelhouse.query.duckdb_engine import DuckDBEngine
from reelhouse.query.trino_engine import TrinoEngine
from tests.trino_fixtures import (  # noqa: F401  (fixtures)
    SCRATCH_NAMESPACE, TRINO_CATALOG, TrinoLake, assert_same_answers, order_keys, params_for, postgres_url, special_checks,
    trino_lake)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SQL_FILES = sorted((ROOT / "sql").glob("*.sql"))


# Fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engines(trino_lake: TrinoLake):  # noqa: F811
    s = trino_lake.settings
    with DuckDBEngine(trino_lake.store.catalog, trino_catalog=TRINO_CATALOG, default_namespace=s.namespace) as duck, \
            TrinoEngine(host=trino_lake.host, port=trino_lake.port, catalog=TRINO_CATALOG, schema=s.namespace) as trino:
        yield duck, trino


@pytest.fixture(scope="module")
def shots(trino_lake: TrinoLake):  # noqa: F811
    return trino_lake.store.read("shots").to_pandas()


@pytest.fixture(scope="module")
def sample_params(trino_lake: TrinoLake) -> dict[str, dict[str, object]]:  # noqa: F811
    return params_for(trino_lake.store)


# The sql/ files and the README's examples ----------------------------------------------------------


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.stem)
def test_sql_file_same_answers_on_trino(path: Path, engines, shots, sample_params):
    duck, trino = engines
    text = path.read_text()
    params = {name: None for name in required_params(text)} | sample_params.get(path.stem, {})
    t0 = time.monotonic()
    embedded = duck.execute(text, params)
    served = trino.execute(text, params)
    assert embedded.num_rows > 0, "the store must give the query rows to compare"
    assert_same_answers(embedded, served, order_keys(text), special_checks(path.stem, time.monotonic() - t0))


def readme_sql_commands() -> list[list[str]]:
    """The ``reelhouse sql`` command lines of the README's code blocks (comments and redirects dropped)."""
    commands = []
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("reelhouse sql "):
            words = shlex.split(line.split("  #", 1)[0].split(" > ", 1)[0], comments=True)
            commands.append(words[2:])
    return commands


def test_readme_has_sql_examples():
    assert len(readme_sql_commands()) >= 8


@pytest.mark.parametrize("argv", readme_sql_commands(), ids=lambda a: " ".join(a)[:60])
def test_readme_sql_example_same_answers_on_trino(argv: list[str], trino_lake: TrinoLake, engines, shots,  # noqa: F811
                                                  monkeypatch, capsys):
    """Each README example run through the CLI on both engines (``--format json``) gives the same rows."""
    import json

    from reelhouse.cli import main
    from reelhouse.config import get_settings

    vid = shots.video_id.iloc[0]
    media = trino_lake.store.read("media").to_pandas()
    name = media[media.video_id == vid].source_uri.iloc[0].rsplit("/", 1)[-1]
    args = [a.replace("<video_id>", vid).replace("<id>", vid).replace("bikes.mp4", name) for a in argv]
    for flag in ("--engine", "--format"):  # both engines are run below, both printing JSON
        while flag in args:
            i = args.index(flag)
            del args[i:i + 2]
    for key, value in trino_lake.env().items():
        monkeypatch.setenv(key, value)
    answers = {}
    for engine in ("duckdb", "trino"):
        get_settings.cache_clear()
        assert main(["sql", *args, "--engine", engine, "--format", "json"]) == 0
        out = capsys.readouterr().out
        answers[engine] = pa.Table.from_pylist(json.loads(out)) if out.strip() not in ("", "[]") else pa.table({})
    sql = args[0] if " " in args[0] else (ROOT / "sql" / f"{args[0]}.sql").read_text()
    assert answers["duckdb"].num_rows > 0 or args[0] == "subtitle_search"
    assert_same_answers(answers["duckdb"], answers["trino"], order_keys(sql), special_checks(args[0], 60.0))


# Reading while the tables change -------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(trino_lake: TrinoLake):  # noqa: F811
    """A second namespace of the same catalog, written here (many small files), read by both engines."""
    from reelhouse.lakehouse import FeatureStore
    from reelhouse.samples.synthetic_catalog import SyntheticCatalogSpec, write_synthetic_catalog

    settings = trino_lake.settings.model_copy(update={"namespace": SCRATCH_NAMESPACE})
    store = FeatureStore.from_settings(settings)
    spec = SyntheticCatalogSpec(titles=6, shots_per_title=12, dim=8, cues_per_title=4, match_cuts_per_shot=1,
                                stale_share=0.0, quarantined_share=0.0, seed=11)
    write_synthetic_catalog(store, spec, titles_per_commit=1)
    # A second version of each title's shots, one commit per title: two files in every partition.
    from reelhouse.lakehouse import FeatureSlice

    held = store.read("shots", selected_fields=("video_id", "feature", "feature_version")).to_pylist()
    for row in {(r["video_id"], r["feature"], r["feature_version"]) for r in held}:
        rows = store.read_slice("shots", FeatureSlice(*row)).drop_columns(["feature_version"])
        store.replace_slice("shots", FeatureSlice(row[0], row[1], "9-extra"), rows, f"extra-{row[0]}")
    return store


def _both(engines, sql: str) -> tuple[list[dict], list[dict]]:
    duck, trino = engines
    duck.refresh()
    return duck.execute(sql).to_pylist(), trino.execute(sql).to_pylist()


SHOT_SUMMARY = (f"SELECT video_id, count(*) AS n, sum(end_s - start_s) AS total_s FROM {TRINO_CATALOG}.{SCRATCH_NAMESPACE}.shots "
                "GROUP BY video_id ORDER BY video_id")


def test_trino_reads_a_compacted_table(engines, scratch):
    before, trino_before = _both(engines, SHOT_SUMMARY)
    assert_same_answers(pa.Table.from_pylist(before), pa.Table.from_pylist(trino_before), ["video_id"])
    files_before = len(scratch.table("shots").inspect.files())
    result = scratch.compact("shots", min_files=2)
    assert len(scratch.table("shots").inspect.files()) < files_before, result
    after, trino_after = _both(engines, SHOT_SUMMARY)
    assert_same_answers(pa.Table.from_pylist(before), pa.Table.from_pylist(trino_after), ["video_id"])
    assert_same_answers(pa.Table.from_pylist(after), pa.Table.from_pylist(trino_after), ["video_id"])


def test_time_travel_by_snapshot_id_on_both_engines(engines, scratch):
    from reelhouse.lakehouse import FeatureSlice

    table = scratch.table("shots")
    first = table.current_snapshot().snapshot_id
    sql = f"SELECT count(*) AS n FROM {TRINO_CATALOG}.{SCRATCH_NAMESPACE}.shots"
    n_first = _both(engines, sql)[0][0]["n"]
    rows = scratch.read("shots").to_pandas()
    vid, feature, version = rows.iloc[0][["video_id", "feature", "feature_version"]]
    slice_ = FeatureSlice(vid, feature, version)
    scratch.replace_slice("shots", slice_, scratch.read_slice("shots", slice_).slice(0, 2), "time-travel")
    now, trino_now = _both(engines, sql)
    assert now == trino_now and now[0]["n"] < n_first
    old = f"{sql} FOR VERSION AS OF {first}"
    assert _both(engines, old) == ([{"n": n_first}], [{"n": n_first}])


def test_trino_sees_one_snapshot_or_the_other_while_another_process_commits(engines, scratch):
    """A writer replaces one title's slice over and over (one commit each, its own run id and row count)
    while Trino reads it: every read sees exactly one commit's rows, never a mix of two."""
    from reelhouse.lakehouse import FeatureSlice

    _, trino = engines
    rows = scratch.read("shots").to_pandas()
    vid, feature, version = rows.iloc[-1][["video_id", "feature", "feature_version"]]
    slice_ = FeatureSlice(vid, feature, version)
    full = scratch.read_slice("shots", slice_)
    stop, committed, errors = threading.Event(), [], []

    def writer() -> None:
        try:
            k = 0
            while not stop.is_set() and k < 300:
                run_id, n = f"writer-{k:03d}", 2 + k % (full.num_rows - 2)
                scratch.replace_slice("shots", slice_, full.slice(0, n), run_id)
                committed.append((run_id, n))
                k += 1
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    sql = (f"SELECT count(*) AS n, count(DISTINCT run_id) AS runs, max(run_id) AS run_id "
           f"FROM {TRINO_CATALOG}.{SCRATCH_NAMESPACE}.shots WHERE video_id = '{vid}' AND feature_version = '{version}'")
    thread = threading.Thread(target=writer)
    thread.start()
    seen, deadline = [], time.monotonic() + 180
    try:
        while time.monotonic() < deadline and thread.is_alive() and (
                len(seen) < 6 or len({r["run_id"] for r in seen}) < 3):
            seen.append(trino.execute(sql).to_pylist()[0])
    finally:
        stop.set()
        thread.join()
    seen.append(trino.execute(sql).to_pylist()[0])
    assert not errors, errors
    sizes = dict(committed)
    for row in seen:
        assert row["runs"] == 1, f"a read mixed commits: {row}"
        assert row["n"] == sizes.get(row["run_id"], full.num_rows), row
    assert seen[-1]["run_id"] == committed[-1][0]
    assert len({r["run_id"] for r in seen}) >= 3, "the reads did not overlap the commits"


def test_trino_reads_a_table_after_a_schema_change(engines, scratch):
    from pyiceberg.types import StringType

    table = scratch.table("shot_dedup")
    with table.update_schema() as update:
        update.add_column("reviewer_note", StringType(), doc="added by a test: old rows read NULL")
    sql = (f"SELECT count(*) AS n, count(reviewer_note) AS noted FROM {TRINO_CATALOG}.{SCRATCH_NAMESPACE}.shot_dedup")
    embedded, served = _both(engines, sql)
    assert served == embedded and served[0]["n"] > 0 and served[0]["noted"] == 0


# Read-only, twice over -----------------------------------------------------------------------------

WRITES = [
    f"CREATE TABLE {TRINO_CATALOG}.features.t (a integer)",
    f"INSERT INTO {TRINO_CATALOG}.features.shots (video_id) VALUES ('x')",
    f"DELETE FROM {TRINO_CATALOG}.features.shots WHERE video_id = 'x'",
    f"UPDATE {TRINO_CATALOG}.features.media SET status = 'ok'",
    f"DROP TABLE {TRINO_CATALOG}.features.match_cuts",
    f"ALTER TABLE {TRINO_CATALOG}.features.shots ADD COLUMN c integer",
    f"CREATE SCHEMA {TRINO_CATALOG}.other",
    f"ALTER TABLE {TRINO_CATALOG}.features.shots EXECUTE optimize",
    f"ALTER TABLE {TRINO_CATALOG}.features.shots EXECUTE expire_snapshots(retention_threshold => '0s')",
    f"ALTER TABLE {TRINO_CATALOG}.features.shots EXECUTE remove_orphan_files(retention_threshold => '0s')",
    f"ALTER TABLE {TRINO_CATALOG}.features.shots SET PROPERTIES format_version = 2",
    f"CALL {TRINO_CATALOG}.system.unregister_table('features', 'shots')",
    f"CREATE VIEW {TRINO_CATALOG}.features.v AS SELECT 1 AS one",
    f"COMMENT ON TABLE {TRINO_CATALOG}.features.shots IS 'x'",
    f"TRUNCATE TABLE {TRINO_CATALOG}.features.shots",
    f"MERGE INTO {TRINO_CATALOG}.features.shots t USING (SELECT 'x' AS v) s ON t.video_id = s.v "
    "WHEN MATCHED THEN DELETE",
]


@pytest.mark.parametrize("sql", WRITES, ids=lambda s: re.sub(r"\W+", "-", s.replace(TRINO_CATALOG + ".", ""))[:48])
def test_writes_are_refused_by_reelhouse_and_by_the_server(sql: str, engines, trino_lake: TrinoLake):  # noqa: F811
    import trino.exceptions

    _, engine = engines
    with pytest.raises(ReadOnlyViolation):
        engine.execute(sql)
    cur = trino_lake.connect().cursor()
    quoted = "'" + sql.replace("'", "''") + "'"
    cur.execute(f"SELECT count(*) FROM system.runtime.queries WHERE query = {quoted}")  # not itself: = , not LIKE
    assert cur.fetchall() == [[0]], "reelhouse refused it, so the server never received it"
    snapshot = trino_lake.store.snapshot_id("shots")
    with pytest.raises(trino.exceptions.TrinoUserError, match=re.compile("Access Denied|PERMISSION_DENIED")):
        cur.execute(sql)
        cur.fetchall()
    assert trino_lake.store.snapshot_id("shots") == snapshot


def test_trino_catalog_file_is_derived_from_the_settings(trino_lake: TrinoLake):  # noqa: F811
    from reelhouse.query.trino_catalog import catalog_properties

    props = catalog_properties(trino_lake.settings)
    assert props["iceberg.jdbc-catalog.catalog-name"] == trino_lake.settings.catalog_name
    assert props["iceberg.jdbc-catalog.connection-url"].startswith("jdbc:postgresql://127.0.0.1:")
    cur = trino_lake.connect().cursor()
    cur.execute("SHOW TABLES")
    assert {r[0] for r in cur.fetchall()} >= {"media", "shots", "shot_embeddings", "match_cuts"}

"""The embedded engine: Trino names over Iceberg, refresh, time travel, streaming, guards."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from reelhouse.query import QueryError, UnknownTableError
from reelhouse.query.duckdb_engine import DuckDBEngine
from tests.test_query_fixtures import (  # noqa: F401  (fixtures)
    MEDIA,
    NAMESPACE,
    SHOTS_SCHEMA,
    catalog,
    create_table,
    engine,
    shots_table,
)

N_SHOTS = shots_table().num_rows


@pytest.mark.parametrize(
    "name", ["iceberg.features.shots", "features.shots", "shots", 'ICEBERG."features".Shots'],
    ids=["catalog.schema.table", "schema.table", "table", "mixed-case-quoted"],
)
def test_table_names_resolve_like_trino(engine: DuckDBEngine, name: str):
    assert engine.execute(f"SELECT count(*) AS n FROM {name}").column("n").to_pylist() == [N_SHOTS]


def test_every_catalog_table_is_served(engine: DuckDBEngine):
    assert engine.tables == ["iceberg.features.media", "iceberg.features.shot_embeddings", "iceberg.features.shots"]


def test_join_across_tables_with_aliases(engine: DuckDBEngine):
    result = engine.execute(
        "SELECT m.video_id, count(s.shot_index) AS n FROM iceberg.features.media AS m "
        "LEFT JOIN features.shots s ON s.video_id = m.video_id GROUP BY m.video_id ORDER BY m.video_id"
    )
    assert result.column("video_id").to_pylist() == sorted(MEDIA)


def test_cte_may_shadow_a_table_name(engine: DuckDBEngine):
    result = engine.execute("WITH shots AS (SELECT 1 AS x) SELECT x FROM shots")
    assert result.to_pylist() == [{"x": 1}]


def test_unknown_table_is_a_clear_error(engine: DuckDBEngine):
    with pytest.raises(UnknownTableError, match=r"'iceberg.features.nope' does not exist; known tables: .*shots"):
        engine.execute("SELECT * FROM iceberg.features.nope")
    with pytest.raises(UnknownTableError, match="unknown catalog 'hive'"):
        engine.execute("SELECT * FROM hive.features.shots")


def test_table_written_after_open_is_visible_after_refresh(engine: DuckDBEngine, catalog: Catalog):
    create_table(catalog, "late", pa.table({"video_id": ["x"], "feature": ["late"], "v": [1.5]}))
    catalog.load_table(f"{NAMESPACE}.shots").append(shots_table().slice(0, 2))
    with pytest.raises(UnknownTableError):
        engine.execute("SELECT * FROM late")
    assert engine.execute("SELECT count(*) AS n FROM shots").column("n")[0].as_py() == N_SHOTS  # snapshot at open
    engine.refresh()
    assert engine.execute("SELECT v FROM iceberg.features.late").to_pylist() == [{"v": 1.5}]
    assert engine.execute("SELECT count(*) AS n FROM shots").column("n")[0].as_py() == N_SHOTS + 2


def _view_sql(engine: DuckDBEngine, name: str) -> str | None:
    """The SQL of the table's view, or None while it has none."""
    found = engine._connection().execute(
        "SELECT sql FROM duckdb_views() WHERE database_name = 'iceberg' AND schema_name = 'features' AND view_name = ?",
        [name]).fetchone()
    return found[0] if found else None


def test_a_table_is_read_from_its_planned_files_after_first_use(engine: DuckDBEngine, catalog: Catalog):
    assert _view_sql(engine, "shots") is None  # opening the engine reads no table
    before = engine.execute("SELECT * FROM shots ORDER BY video_id, shot_index")
    view = _view_sql(engine, "shots")
    assert "read_parquet" in view and "iceberg_scan" not in view
    files = {t.file.file_path for t in catalog.load_table(f"{NAMESPACE}.shots").scan().plan_files()}
    assert files and all(f in view for f in files)
    again = engine.execute("SELECT * FROM shots ORDER BY video_id, shot_index")
    assert again.equals(before) and again.schema == before.schema  # same rows, same column order and types
    catalog.load_table(f"{NAMESPACE}.shots").append(shots_table().slice(0, 2))
    assert engine.execute("SELECT count(*) AS n FROM shots").column("n")[0].as_py() == N_SHOTS  # still the served snapshot
    engine.refresh()
    assert engine.execute("SELECT count(*) AS n FROM shots").column("n")[0].as_py() == N_SHOTS + 2


def test_a_table_with_an_evolved_schema_keeps_iceberg_scan(catalog: Catalog):
    from pyiceberg.types import StringType

    table = catalog.load_table(f"{NAMESPACE}.shots")
    with table.update_schema() as update:
        update.add_column("note", StringType())
    table = catalog.load_table(f"{NAMESPACE}.shots")
    added = shots_table().slice(0, 1)
    table.append(added.append_column("note", pa.array(["new"], pa.string())).cast(table.schema().as_arrow()))
    with DuckDBEngine(catalog) as eng:
        notes = eng.execute("SELECT note, count(*) AS n FROM shots GROUP BY note ORDER BY note NULLS FIRST").to_pylist()
        assert notes == [{"note": None, "n": N_SHOTS}, {"note": "new", "n": 1}]
        assert "iceberg_scan" in _view_sql(eng, "shots")


def test_time_travel_by_snapshot_id(catalog: Catalog):
    table = catalog.load_table(f"{NAMESPACE}.shots")
    first = table.current_snapshot().snapshot_id
    table.append(shots_table().slice(0, 3))
    with DuckDBEngine(catalog, snapshot_ids={"features.shots": first}) as pinned:
        assert pinned.execute("SELECT count(*) AS n FROM shots").column("n")[0].as_py() == N_SHOTS
    with DuckDBEngine(catalog) as current:
        assert current.execute("SELECT count(*) AS n FROM shots").column("n")[0].as_py() == N_SHOTS + 3
        # Trino's own syntax works per query too.
        n = current.execute(f"SELECT count(*) AS n FROM iceberg.features.shots FOR VERSION AS OF {first}")
        assert n.column("n")[0].as_py() == N_SHOTS


def test_snapshot_ids_must_name_a_served_table(catalog: Catalog):
    with pytest.raises(ValueError, match="snapshot_ids: table 'nope'"):
        DuckDBEngine(catalog, snapshot_ids={"nope": 1})


def test_show_and_describe(engine: DuckDBEngine):
    assert engine.execute("SHOW CATALOGS").column("Catalog").to_pylist() == ["iceberg"]
    assert engine.execute("SHOW SCHEMAS FROM iceberg").column("Schema").to_pylist() == ["features"]
    assert engine.execute("SHOW TABLES FROM iceberg.features LIKE 'shot%'").column("Table").to_pylist() == [
        "shot_embeddings", "shots"]
    described = engine.execute("DESCRIBE iceberg.features.shot_embeddings").to_pylist()
    types = {r["Column"]: r["Type"] for r in described}
    assert types["embedding"] == "array(real)"
    assert types["written_at"] == "timestamp(6) with time zone"
    assert engine.execute("SHOW COLUMNS FROM shots").column("Column").to_pylist() == SHOTS_SCHEMA.names


def test_explain_runs(engine: DuckDBEngine):
    assert engine.execute("EXPLAIN SELECT count(*) FROM shots").num_rows >= 1


def test_stream_yields_batches_with_schema(engine: DuckDBEngine):
    reader = engine.stream("SELECT shot_index FROM shots ORDER BY video_id, feature_version, shot_index", batch_rows=4)
    assert reader.schema.names == ["shot_index"]
    batches = list(reader)
    assert len(batches) > 1 and all(b.num_rows <= 4 for b in batches)
    assert sum(b.num_rows for b in batches) == N_SHOTS


def test_stream_of_empty_result_still_has_schema(engine: DuckDBEngine):
    reader = engine.stream("SELECT video_id, start_s FROM shots WHERE false")
    assert reader.schema.names == ["video_id", "start_s"]
    assert sum(b.num_rows for b in reader) == 0


def test_unaliased_columns_are_named_like_trino(engine: DuckDBEngine):
    assert engine.execute("SELECT count(*), video_id FROM shots GROUP BY video_id").column_names == ["_col0", "video_id"]


def test_timestamps_come_back_in_utc(engine: DuckDBEngine):
    field = engine.execute("SELECT written_at FROM shots LIMIT 1").schema.field("written_at")
    assert pa.types.is_timestamp(field.type) and field.type.tz in ("UTC", "Etc/UTC")


def test_connection_itself_refuses_files_outside_the_tables(engine: DuckDBEngine, tmp_path: Path):
    """Defence in depth: even SQL that skipped the validator cannot reach other files or undo the guard."""
    con = engine._connection()  # the raw DuckDB connection, on purpose
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(duckdb.PermissionException):
        con.execute(f"SELECT * FROM read_csv('{secret}')")
    with pytest.raises(duckdb.PermissionException):
        con.execute("SELECT * FROM read_text('/etc/passwd')")
    with pytest.raises(duckdb.Error, match="locked|Cannot enable"):
        con.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.Error, match="locked"):
        con.execute("SET allowed_directories = ['/']")


def test_nothing_is_written_to_the_home_directory(catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with DuckDBEngine(catalog) as eng:
        eng.execute("SELECT count(*) FROM shots")
        eng.refresh()
    assert list(home.iterdir()) == []


def test_closed_engine_refuses_queries(catalog: Catalog):
    eng = DuckDBEngine(catalog)
    eng.close()
    with pytest.raises(QueryError, match="closed"):
        eng.execute("SELECT 1")


def test_namespaces_argument_is_checked(catalog: Catalog):
    with pytest.raises(ValueError, match="unknown Iceberg namespace"):
        DuckDBEngine(catalog, namespaces=["nope"])

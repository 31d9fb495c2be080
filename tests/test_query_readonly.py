"""The SQL surface is read-only: the validator rejects everything but queries, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyiceberg.catalog import Catalog

from reelhouse.query import QueryError, ReadOnlyViolation, UnknownTableError, check_read_only
from reelhouse.query.duckdb_engine import DuckDBEngine
from tests.test_query_fixtures import NAMESPACE, shared_catalog, shared_engine, shared_root  # noqa: F401  (fixtures)

FORBIDDEN = [
    pytest.param("INSERT INTO iceberg.features.shots (video_id) VALUES ('x')", id="insert"),
    pytest.param("UPDATE shots SET confidence = 0", id="update"),
    pytest.param("DELETE FROM shots", id="delete"),
    pytest.param("MERGE INTO shots t USING media s ON t.video_id = s.video_id WHEN MATCHED THEN DELETE", id="merge"),
    pytest.param("CREATE TABLE iceberg.features.x AS SELECT 1 AS a", id="create-table-as"),
    pytest.param("CREATE VIEW v AS SELECT 1 AS a", id="create-view"),
    pytest.param("DROP TABLE iceberg.features.shots", id="drop"),
    pytest.param("ALTER TABLE shots ADD COLUMN x int", id="alter"),
    pytest.param("TRUNCATE TABLE shots", id="truncate"),
    pytest.param("COPY (SELECT 1) TO '/tmp/reelhouse-copy.csv'", id="copy"),
    pytest.param("ATTACH '/tmp/reelhouse-attach.db' AS x", id="attach"),
    pytest.param("DETACH iceberg", id="detach"),
    pytest.param("INSTALL httpfs", id="install"),
    pytest.param("LOAD httpfs", id="load"),
    pytest.param("PRAGMA enable_profiling", id="pragma"),
    pytest.param("SET enable_external_access = true", id="set"),
    pytest.param("SET SESSION query_max_run_time = '1h'", id="set-session"),
    pytest.param("RESET SESSION query_max_run_time", id="reset-session"),
    pytest.param("CALL iceberg.system.rollback_to_snapshot('features', 'shots', 1)", id="call"),
    pytest.param("USE iceberg.features", id="use"),
    pytest.param("GRANT SELECT ON shots TO analyst", id="grant"),
    pytest.param("START TRANSACTION", id="transaction"),
    pytest.param("COMMIT", id="commit"),
    pytest.param("EXPORT DATABASE '/tmp/reelhouse-export'", id="export"),
    pytest.param("VACUUM", id="vacuum"),
    pytest.param("CHECKPOINT", id="checkpoint"),
    pytest.param("PREPARE p FROM SELECT 1", id="prepare"),
    pytest.param("EXECUTE p", id="execute"),
    pytest.param("SELECT 1; DROP TABLE shots", id="multi-statement"),
    pytest.param("SELECT 1; SELECT 2", id="two-selects"),
    pytest.param("SHOW TABLES; DROP TABLE shots", id="show-then-drop"),
    pytest.param("EXPLAIN ANALYZE INSERT INTO shots (video_id) VALUES ('x')", id="explain-analyze-insert"),
    pytest.param("EXPLAIN DROP TABLE shots", id="explain-drop"),
    pytest.param("SELECT * FROM read_csv('/etc/passwd')", id="read_csv"),
    pytest.param("SELECT * FROM read_text('/etc/passwd')", id="read_text"),
    pytest.param("SELECT * FROM shots WHERE video_id IN (SELECT * FROM read_csv('/etc/passwd'))", id="read_csv-subquery"),
    pytest.param("WITH x AS (SELECT * FROM read_parquet('/tmp/x.parquet')) SELECT * FROM x", id="read_parquet-cte"),
    pytest.param("SELECT * FROM iceberg_scan('/tmp/other/metadata.json')", id="iceberg_scan"),
    pytest.param("SELECT * FROM duckdb_settings()", id="duckdb_settings"),
    pytest.param("SELECT * FROM TABLE(system.query(query => 'DROP TABLE x'))", id="table-function"),
    pytest.param("EXPLAIN SELECT * FROM read_csv('/etc/passwd')", id="explain-read_csv"),
]


@pytest.mark.parametrize("sql", FORBIDDEN)
def test_validator_rejects(sql: str):
    with pytest.raises(ReadOnlyViolation):
        check_read_only(sql)


def _state(catalog: Catalog, warehouse: Path) -> tuple[dict[str, int | None], list[str]]:
    snapshots = {}
    for ident in catalog.list_tables(NAMESPACE):
        snap = catalog.load_table(ident).current_snapshot()
        snapshots[".".join(ident)] = snap.snapshot_id if snap else None
    files = sorted(str(p.relative_to(warehouse)) for p in warehouse.rglob("*"))
    return snapshots, files


@pytest.mark.parametrize("sql", FORBIDDEN)
def test_engine_rejects_and_nothing_changes(
    sql: str, shared_engine: DuckDBEngine, shared_catalog: Catalog, shared_root: Path
):
    before = _state(shared_catalog, shared_root / "warehouse")
    with pytest.raises(ReadOnlyViolation):
        shared_engine.execute(sql)
    with pytest.raises(ReadOnlyViolation):
        shared_engine.stream(sql)
    assert _state(shared_catalog, shared_root / "warehouse") == before
    assert shared_engine.execute("SELECT count(*) AS n FROM shots").column("n")[0].as_py() > 0
    for path in ("/tmp/reelhouse-copy.csv", "/tmp/reelhouse-attach.db", "/tmp/reelhouse-export"):
        assert not Path(path).exists()


@pytest.mark.parametrize("sql", ['SELECT * FROM "/etc/passwd"', "SELECT * FROM \"data.csv\"", "SELECT * FROM some_python_variable"])
def test_names_that_duckdb_would_scan_as_files_are_unknown_tables(sql: str, shared_engine: DuckDBEngine):
    # DuckDB's replacement scans would read a file (or a Python variable) named like a table.
    with pytest.raises(UnknownTableError, match="does not exist; known tables"):
        shared_engine.execute(sql)


def test_violation_message_names_the_statement():
    with pytest.raises(ReadOnlyViolation, match="DROP statements are not allowed.*read-only"):
        check_read_only("DROP TABLE shots")
    with pytest.raises(ReadOnlyViolation, match="multiple statements"):
        check_read_only("SELECT 1; SELECT 2")
    with pytest.raises(ReadOnlyViolation, match="table function 'READ_CSV'.*registered Iceberg tables"):
        check_read_only("SELECT * FROM read_csv('/etc/passwd')")


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        pytest.param("SELECT 1", "query", id="select"),
        pytest.param("select 1;", "query", id="trailing-semicolon"),
        pytest.param("-- a comment\nSELECT 1 -- done", "query", id="comments"),
        pytest.param("WITH a AS (SELECT 1 AS x) SELECT x FROM a", "query", id="with"),
        pytest.param("SELECT 1 UNION ALL SELECT 2", "query", id="union"),
        pytest.param("(SELECT 1) EXCEPT (SELECT 2)", "query", id="parenthesized-set-op"),
        pytest.param("VALUES (1, 'a'), (2, 'b')", "query", id="values"),
        pytest.param("SELECT ';' AS semicolon_in_string", "query", id="semicolon-in-string"),
        pytest.param("SHOW TABLES FROM iceberg.features", "show", id="show"),
        pytest.param("DESCRIBE iceberg.features.shots", "describe", id="describe"),
        pytest.param("EXPLAIN SELECT 1", "explain", id="explain"),
        pytest.param("EXPLAIN ANALYZE SELECT 1", "explain", id="explain-analyze"),
        pytest.param("EXPLAIN (TYPE DISTRIBUTED) SELECT 1", "explain", id="explain-options"),
    ],
)
def test_validator_admits_queries(sql: str, kind: str):
    assert check_read_only(sql).kind == kind


@pytest.mark.parametrize("sql", ["", "   ", ";", "-- only a comment"])
def test_empty_sql_is_a_query_error(sql: str):
    with pytest.raises(QueryError, match="empty SQL"):
        check_read_only(sql)


def test_invalid_sql_is_a_query_error_not_a_violation():
    with pytest.raises(QueryError, match="not valid Trino SQL") as info:
        check_read_only("SELECT FROM WHERE (")
    assert not isinstance(info.value, ReadOnlyViolation)

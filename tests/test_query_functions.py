"""Trino functions analysts use translate to DuckDB and compute Trino's values; the rest fail clearly."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from reelhouse.query import QueryError, UnsupportedQueryError
from reelhouse.query.duckdb_engine import DuckDBEngine
from tests.test_query_fixtures import EMBEDDINGS, shared_catalog, shared_engine, shared_root  # noqa: F401  (fixtures)


def _one(shared_engine: DuckDBEngine, sql: str):
    row = shared_engine.execute(sql).to_pylist()[0]
    return next(iter(row.values()))


def _cos(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def test_cosine_similarity_on_literals(shared_engine: DuckDBEngine):
    sql = "SELECT cosine_similarity(ARRAY[1.0, 2.0, 3.0], ARRAY[3.0, 2.0, 1.0])"
    assert "LIST_COSINE_SIMILARITY" in shared_engine.translate(sql)
    assert _one(shared_engine, sql) == pytest.approx(_cos([1, 2, 3], [3, 2, 1]))


def test_cosine_similarity_between_stored_embeddings(shared_engine: DuckDBEngine):
    rows = shared_engine.execute(
        "SELECT a.shot_index AS i, b.shot_index AS j, cosine_similarity(a.embedding, b.embedding) AS sim "
        "FROM iceberg.features.shot_embeddings a JOIN iceberg.features.shot_embeddings b "
        "ON a.shot_index < b.shot_index ORDER BY i, j"
    ).to_pylist()
    assert len(rows) == 3
    for r in rows:
        assert r["sim"] == pytest.approx(_cos(EMBEDDINGS[r["i"]], EMBEDDINGS[r["j"]]), abs=1e-6)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param("SELECT dot_product(ARRAY[1.0, 2.0], ARRAY[3.0, 4.0])", 11.0, id="dot_product"),
        pytest.param("SELECT euclidean_distance(ARRAY[0.0, 0.0], ARRAY[3.0, 4.0])", 5.0, id="euclidean_distance"),
        pytest.param("SELECT cosine_distance(ARRAY[1.0, 0.0], ARRAY[0.0, 1.0])", 1.0, id="cosine_distance"),
        pytest.param("SELECT approx_percentile(x, 0.5) FROM (VALUES 1.0, 2.0, 3.0, 4.0, 5.0) AS t(x)", 3.0,
                     id="approx_percentile"),
        pytest.param("SELECT date_trunc('hour', TIMESTAMP '2024-05-01 12:34:56')", dt.datetime(2024, 5, 1, 12),
                     id="date_trunc"),
        pytest.param("SELECT regexp_like('Shot 12: Exterior', '^Shot [0-9]+')", True, id="regexp_like"),
        pytest.param("SELECT strpos(lower('Night EXTERIOR'), 'exterior')", 7, id="lower-strpos"),
        pytest.param("SELECT lower('Night EXTERIOR') LIKE '%exterior%'", True, id="like"),
        pytest.param("SELECT cardinality(ARRAY[1, 2, 3])", 3, id="cardinality"),
        pytest.param("SELECT transform(ARRAY[1, 2, 3], x -> x * 2)", [2, 4, 6], id="transform"),
        pytest.param("SELECT filter(ARRAY[1, 2, 3], x -> x > 1)", [2, 3], id="filter"),
        pytest.param("SELECT reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s)", 6, id="reduce-identity-finish"),
        pytest.param("SELECT format('%02d:%02d', 5, 7)", "05:07", id="format"),
        pytest.param("SELECT format('%02d:%02d', CAST(floor(125.4 / 60) AS integer), CAST(floor(125.4) % 60 AS integer))",
                     "02:05", id="format-timecode"),
        pytest.param("SELECT width_bucket(2.5, 0, 10, 4)", 2, id="width_bucket"),
        pytest.param("SELECT width_bucket(10, 0, 10, 4)", 5, id="width_bucket-above"),
        pytest.param("SELECT width_bucket(-1, 0, 10, 4)", 0, id="width_bucket-below"),
        pytest.param("SELECT element_at(ARRAY[10, 20, 30], 2)", 20, id="element_at"),
        pytest.param("SELECT contains(ARRAY[1, 2], 2)", True, id="contains"),
        pytest.param("SELECT if(1 > 0, 'y', 'n')", "y", id="if"),
        pytest.param("SELECT date_diff('second', TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-01 00:01:00')", 60,
                     id="date_diff"),
        pytest.param("SELECT max_by(x, y) FROM (VALUES (1, 2), (3, 1)) AS t(x, y)", 1, id="max_by"),
        pytest.param("SELECT count_if(x > 1) FROM (VALUES 1, 2, 3) AS t(x)", 2, id="count_if"),
        pytest.param("SELECT array_join(ARRAY['a', 'b'], ',')", "a,b", id="array_join"),
        pytest.param("SELECT try_cast('x' AS integer)", None, id="try_cast"),
    ],
)
def test_function_translates_and_computes(shared_engine: DuckDBEngine, sql: str, expected):
    value = _one(shared_engine, sql)
    assert value == (pytest.approx(expected) if isinstance(expected, float) else expected)


def test_window_functions(shared_engine: DuckDBEngine):
    rows = shared_engine.execute(
        "SELECT shot_index, end_s - start_s AS len, "
        "row_number() OVER (PARTITION BY video_id ORDER BY end_s - start_s DESC) AS rank_by_length, "
        "lag(end_s) OVER (PARTITION BY video_id ORDER BY shot_index) AS prev_end, "
        "sum(end_s - start_s) OVER (PARTITION BY video_id ORDER BY shot_index "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running "
        "FROM iceberg.features.shots WHERE video_id = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' ORDER BY shot_index"
    ).to_pylist()
    lengths = [3.25, 0.75, 2.0, 1.2]
    assert [r["len"] for r in rows] == pytest.approx(lengths)
    assert [r["rank_by_length"] for r in rows] == [1, 4, 2, 3]
    assert [r["prev_end"] for r in rows] == [None, 3.25, 4.0, 6.0]
    assert [r["running"] for r in rows] == pytest.approx([3.25, 4.0, 6.0, 7.2])


def test_text_search_over_a_column(shared_engine: DuckDBEngine):
    rows = shared_engine.execute(
        "SELECT DISTINCT source_uri FROM iceberg.features.media "
        "WHERE strpos(lower(source_uri), 'b.mp4') > 0 OR regexp_like(source_uri, 'c\\.mp4$')"
    ).column("source_uri").to_pylist()
    assert sorted(rows) == ["file:///landing/b.mp4", "file:///landing/c.mp4"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        pytest.param("SELECT zip_with(ARRAY[1], ARRAY[2], (a, b) -> a + b)", r"zip_with\(\) is not supported",
                     id="zip_with"),
        pytest.param("SELECT map_agg(video_id, 1) FROM shots", r"map_agg\(\) is not supported", id="map_agg"),
        pytest.param("SELECT reduce(ARRAY[1, 2], 0, (s, x) -> s + x, s -> s * 2)", "finish.*not supported",
                     id="reduce-with-finish"),
        pytest.param(
            "SELECT * FROM shots MATCH_RECOGNIZE (PARTITION BY video_id ORDER BY shot_index "
            "MEASURES A.shot_index AS s PATTERN (A B+) DEFINE B AS B.confidence > A.confidence)",
            "MATCH_RECOGNIZE is not supported", id="match_recognize"),
        pytest.param("SELECT levenshtein_distance_typo('a', 'b')", r"levenshtein_distance_typo\(\) is not available",
                     id="unknown-function"),
        pytest.param("EXPLAIN (TYPE DISTRIBUTED) SELECT 1", r"EXPLAIN \(TYPE DISTRIBUTED\) is not supported",
                     id="explain-type"),
        pytest.param("SHOW CREATE TABLE shots", "SHOW CREATE TABLE shots is not supported", id="show-create"),
        pytest.param("SELECT * FROM shots FOR VERSION AS OF 'main'", "time travel .* is not supported",
                     id="time-travel-by-branch"),
    ],
)
def test_unsupported_constructs_raise_clear_query_errors(shared_engine: DuckDBEngine, sql: str, message: str):
    with pytest.raises(UnsupportedQueryError, match=message):
        shared_engine.execute(sql)


def test_engine_errors_are_query_errors_with_the_duckdb_sql(shared_engine: DuckDBEngine):
    with pytest.raises(QueryError, match="DuckDB SQL was: SELECT"):
        shared_engine.execute("SELECT cosine_similarity(ARRAY[1.0], ARRAY[1.0, 2.0])")
